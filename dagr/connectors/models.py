"""Provider connectors (DU-12): a configured source that loads one dataset, its small state row,
its runs and their log lines.

The configuration (``Connector.config``) is the engine's JSON document
(``dagr_agent.connector.config``) and holds no secrets; secrets are a separate JSON object
encrypted with ``core.crypto`` (``secrets_encrypted``) — never shown again, never logged.

The state (the cursor) is its own small row per connector (``ConnectorState``), written in the
same transaction as the load it covers; it also carries the run claim (``running_run`` +
``lease_until``), so that two runs of one connector never overlap — a conditional UPDATE that
works alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Connector(models.Model):
    class DriftPolicy(models.TextChoices):
        FAIL = "fail", _("stop the run")
        IGNORE = "ignore", _("ignore the column")
        PROPOSE = "propose", _("propose a schema change")

    class Runner(models.TextChoices):
        HOSTED = "hosted", _("hosted by DAGR")
        REMOTE = "remote", _("remote agent at the provider")

    name = models.CharField(_("name"), max_length=200)
    dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    provider = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("provider"),
    )
    runner = models.CharField(
        _("runs"), max_length=10, choices=Runner.choices, default=Runner.HOSTED
    )
    config = models.JSONField(_("configuration"), default=dict)
    secrets_encrypted = models.TextField(blank=True)
    secret_names = models.JSONField(default=list, blank=True)
    schedule = models.CharField(_("schedule (cron)"), max_length=100, blank=True)
    timeout_s = models.PositiveIntegerField(_("timeout (seconds)"), default=3600)
    drift_policy = models.CharField(
        _("schema drift"), max_length=10, choices=DriftPolicy.choices, default=DriftPolicy.FAIL
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    next_run_at = models.DateTimeField(_("next scheduled run"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")

    def __str__(self) -> str:
        return self.name


class ConnectorState(models.Model):
    """One small row per connector: the committed cursor, and the run claim."""

    connector = models.OneToOneField(
        Connector, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    state = models.JSONField(default=dict, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    running_run = models.ForeignKey(
        "Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"state of connector {self.connector_id}"


class Run(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="runs")
    runner = models.CharField(_("runs"), max_length=10, choices=Connector.Runner.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    trigger = models.CharField(_("started by"), max_length=20, default="manual")
    mode = models.CharField(_("mode"), max_length=10, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_read = models.PositiveBigIntegerField(_("rows read"), default=0)
    created = models.PositiveBigIntegerField(_("created"), default=0)
    updated = models.PositiveBigIntegerField(_("updated"), default=0)
    unchanged = models.PositiveBigIntegerField(_("unchanged"), default=0)
    deleted = models.PositiveBigIntegerField(_("deleted"), default=0)
    invalid = models.PositiveBigIntegerField(_("invalid"), default=0)
    error = models.TextField(_("error"), blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    drift = models.JSONField(default=list, blank=True)
    proposal = models.JSONField(default=list, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connector", "-started_at"], name="connectors_run_started")]
        verbose_name = _("connector run")
        verbose_name_plural = _("connector runs")

    def __str__(self) -> str:
        return f"{self.connector_id} {self.status} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RunLogLine(models.Model):
    class Level(models.TextChoices):
        DEBUG = "debug", _("debug")
        INFO = "info", _("information")
        WARNING = "warning", _("warning")
        ERROR = "error", _("error")

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="lines")
    at = models.DateTimeField(_("time"))
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    message = models.TextField(_("message"))
    row = models.JSONField(_("source row"), null=True, blank=True)
    # the engine's code of the line and its parameters: shown in the reader's language
    code = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["at"], name="connectors_line_at")]

    def __str__(self) -> str:
        return f"{self.level}: {self.message[:60]}"

    @property
    def text(self) -> str:
        """The line in the active language (``logtexts``), else its English message."""
        from .logtexts import log_text

        return log_text(self.code, self.params, self.message)
