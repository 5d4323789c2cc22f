"""Connector services: configuration (with encrypted secrets), dry run, hosted runs, the remote
agent's run reports, schedules and log pruning.

A hosted run claims the connector (``run_claim``: one conditional UPDATE of its state row, the
same on SQLite and PostgreSQL), runs the engine with a ``HostedSink`` whose every commit is one
transaction holding the load (``records.services.records_upsert``, the loading service of the
API and uploads), its deletions (``records_delete``) and the new cursor. Log lines are buffered
while a unit's transaction is open and written after it (so they survive its rollback), and
every text goes through the engine's secret mask first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset, SchemaVersion
from dagr.catalog.services import dataset_schema_update
from dagr.core import crypto
from dagr.core.actors import SYSTEM, Actor
from dagr.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from dagr.permissions import rules
from dagr.records.models import Load
from dagr.records.services import (
    CompiledSchema,
    compiled_schema,
    records_delete,
    records_upsert,
)
from dagr_agent.connector import engine
from dagr_agent.connector.config import ConfigError, ConnectorConfig, config_from_dict

from .models import Connector, ConnectorState, Run, RunLogLine
from .sources import source_open

MASK = "***"
MAX_LINES_PER_RUN = 20_000


def lease_seconds() -> int:
    return int(getattr(settings, "DAGR_CONNECTOR_LEASE_S", 600))


# --- configuration ---------------------------------------------------------------------------


def config_parse(raw: Mapping[str, Any]) -> ConnectorConfig:
    try:
        return config_from_dict(raw)
    except ConfigError as exc:
        raise ValidationError(
            _("The configuration is not valid."),
            code="invalid_config",
            errors=[{"field": path, "message": message} for path, message in exc.problems],
        ) from None


def schedule_check(schedule: str) -> None:
    if schedule and not croniter.is_valid(schedule):
        raise ValidationError(
            _("The schedule is not a valid cron expression (e.g. 0 3 * * *)."),
            code="invalid_schedule",
        )


def next_run(schedule: str, after: datetime) -> datetime | None:
    if not schedule:
        return None
    found: datetime = croniter(schedule, after).get_next(datetime)
    return found


def secrets_of(connector: Connector) -> dict[str, str]:
    if not connector.secrets_encrypted:
        return {}
    loaded: dict[str, str] = json.loads(crypto.decrypt(connector.secrets_encrypted))
    return loaded


def _secrets_merge(connector: Connector | None, given: Mapping[str, str] | None) -> dict[str, str]:
    """``given`` with empty values meaning "keep the stored one" (the form's leave-empty)."""
    current = secrets_of(connector) if connector is not None else {}
    if given is None:
        return current
    merged = {}
    for name, value in given.items():
        if value:
            merged[name] = value
        elif name in current:
            merged[name] = current[name]
    return merged


def _apply(
    connector: Connector,
    *,
    name: str,
    config: Mapping[str, Any],
    secrets: dict[str, str],
    runner: str,
    enabled: bool,
) -> dict[str, Any]:
    parsed = config_parse(config)
    schedule_check(parsed.schedule)
    before = {
        "name": connector.name,
        "config": connector.config,
        "runner": connector.runner,
        "enabled": connector.enabled,
        "secret_names": connector.secret_names,
    }
    connector.name = name
    connector.config = dict(config)
    connector.runner = runner
    connector.enabled = enabled
    connector.schedule = parsed.schedule
    connector.timeout_s = parsed.timeout_s
    connector.drift_policy = parsed.drift
    connector.secrets_encrypted = crypto.encrypt(json.dumps(secrets)) if secrets else ""
    connector.secret_names = sorted(secrets)
    connector.next_run_at = next_run(parsed.schedule, timezone.now()) if enabled else None
    after = {
        "name": name,
        "config": connector.config,
        "runner": runner,
        "enabled": enabled,
        "secret_names": connector.secret_names,
    }
    # the audit names the secrets that exist, never their values
    return {k: {"old": before[k], "new": after[k]} for k in after if before[k] != after[k]}


def connector_create(
    *,
    actor: Actor,
    dataset: Dataset,
    name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    runner: str = Connector.Runner.HOSTED,
    enabled: bool = True,
) -> Connector:
    if not rules.can_manage_connectors_of(actor, dataset.provider_id):
        raise PermissionDenied(_("You may not configure connectors of this dataset."))
    with transaction.atomic():
        connector = Connector(dataset=dataset, provider_id=dataset.provider_id)
        changes = _apply(
            connector,
            name=name,
            config=config,
            secrets=_secrets_merge(None, secrets),
            runner=runner,
            enabled=enabled,
        )
        connector.save()
        ConnectorState.objects.create(connector=connector)
        admin_entry_create(
            action="connectors.connector.created",
            actor=actor,
            target=connector,
            institution_id=connector.provider_id,
            changes=changes,
        )
    return connector


def connector_update(
    *,
    actor: Actor,
    connector: Connector,
    name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    runner: str | None = None,
    enabled: bool | None = None,
) -> Connector:
    """``secrets``: ``None`` keeps them all; a name with an empty value keeps that one; a name
    left out is removed."""
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    with transaction.atomic():
        changes = _apply(
            connector,
            name=name,
            config=config,
            secrets=_secrets_merge(connector, secrets),
            runner=runner or connector.runner,
            enabled=connector.enabled if enabled is None else enabled,
        )
        connector.save()
        admin_entry_create(
            action="connectors.connector.changed",
            actor=actor,
            target=connector,
            institution_id=connector.provider_id,
            changes=changes,
        )
    return connector


def connector_delete(*, actor: Actor, connector: Connector) -> None:
    """Delete a connector with its state, runs and their logs; refused while it runs."""
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    if not rules.can_delete_connector(actor, connector):
        raise PermissionDenied(_("You may not delete this connector."))
    running = ConnectorState.objects.filter(
        connector=connector, running_run__isnull=False, lease_until__gte=timezone.now()
    ).exists()
    if running:
        raise Conflict(
            _("This connector is running; delete it when the run has finished."),
            code="connector_running",
        )
    with transaction.atomic():
        admin_entry_create(
            action="connectors.connector.deleted",
            actor=actor,
            target=connector,
            institution_id=connector.provider_id,
        )
        connector.delete()


# --- schema change proposals ---------------------------------------------------------------------


def proposal_open(run: Run) -> list[dict[str, Any]]:
    """The fields a run proposed that are not accepted yet."""
    return [dict(p) for p in run.proposal if not p.get("accepted")]


def proposal_accept(*, actor: Actor, run: Run, columns: Iterable[str]) -> SchemaVersion:
    """Accept the fields a run proposed for the new source ``columns``: one transaction adds them
    to the dataset's schema (optional fields, through the catalogue's schema service and its
    rules), maps each column to its field in the connector's configuration and writes the
    column down (the next run no longer reports it as new). Audit:
    ``connectors.schema_change.accepted`` (and the catalogue's and connector's own entries)."""
    connector = run.connector
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    if not rules.can_accept_connector_proposal(actor, connector):
        raise PermissionDenied(_("You may not change the schema of this dataset."))
    wanted = set(columns)
    chosen = [p for p in proposal_open(run) if p.get("column") in wanted]
    if not chosen:
        raise ValidationError(
            _("Choose at least one proposed field to accept."), code="nothing_chosen"
        )
    found_types = {d.get("column"): d.get("found") for d in run.drift if d.get("kind") == "new"}
    with transaction.atomic():
        dataset = Dataset.objects.select_related("schema").get(pk=connector.dataset_id)
        definition = dict(dataset.schema.definition) if dataset.schema else {"fields": []}
        fields = [dict(f) for f in definition.get("fields", [])]
        taken = {f.get("name") for f in fields}
        for p in chosen:
            if p["name"] in taken:
                raise ValidationError(
                    _("The dataset has a field %(name)s already.") % {"name": p["name"]},
                    code="field_exists",
                )
            fields.append(
                {"name": p["name"], "title_lv": p["column"], "title_en": p["column"],
                 "type": p["type"]}
            )  # fmt: skip
        definition["fields"] = fields
        version = dataset_schema_update(
            actor=actor,
            dataset=dataset,
            schema=definition,
            note=f"connector {connector.name} (run #{run.pk})"[:255],
        )
        config = json.loads(json.dumps(connector.config))
        mapping = config.setdefault("mapping", {})
        mapping.setdefault("fields", []).extend(
            {"field": p["name"], "column": p["column"]} for p in chosen
        )
        known = config.setdefault("columns", {})
        for p in chosen:
            known[p["column"]] = found_types.get(p["column"]) or "string"
        config_parse(config)
        connector.config = config
        connector.save(update_fields=["config", "updated_at"])
        run.proposal = [
            {**p, "accepted": True} if p.get("column") in wanted else p for p in run.proposal
        ]
        run.save(update_fields=["proposal"])
        admin_entry_create(
            action="connectors.schema_change.accepted",
            actor=actor,
            target=connector,
            institution_id=connector.provider_id,
            changes={
                "run": run.pk,
                "fields": [{"name": p["name"], "type": p["type"]} for p in chosen],
                "schema_version": version.number,
            },
        )
    return version


# --- dry run ----------------------------------------------------------------------------------


def connector_dry_run(*, actor: Actor, connector: Connector, limit: int = 20) -> engine.DryRun:
    """The first ``limit`` source rows mapped and validated against the dataset's current schema
    (catalog's compiled validator); nothing is loaded and the cursor does not move."""
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    config = config_parse(connector.config)
    secrets = secrets_of(connector)
    schema = connector.dataset.schema
    validate = compiled_schema(schema).validate if schema is not None else None
    mask = engine.masker(secrets.values())
    try:
        source = source_open(config.source_kind, config.source_options, secrets)
    except Exception as exc:
        return engine.DryRun(error=mask(f"{type(exc).__name__}: {exc}"))
    try:
        return engine.dry_run(config, source, validate, limit=limit, secrets=secrets.values())
    finally:
        source.close()


# --- runs: claim, log, finish -------------------------------------------------------------------


def run_claim(*, connector: Connector, runner: str, trigger: str, actor: Actor) -> Run:
    """Start a run, or refuse (409 ``connector_running``) while another one holds the claim.

    The claim is one conditional UPDATE of the connector's state row (free, or its lease ran
    out — a run that crashed or was killed), so two processes can never both win it. A run whose
    lease ran out is marked failed ("abandoned") when the next one takes over."""
    now = timezone.now()
    ConnectorState.objects.get_or_create(connector=connector)
    with transaction.atomic():
        run = Run.objects.create(
            connector=connector,
            runner=runner,
            trigger=trigger,
            started_at=now,
            actor_label=str(actor)[:255],
        )
        stale = list(
            ConnectorState.objects.filter(
                connector=connector, running_run__isnull=False, lease_until__lt=now
            ).values_list("running_run_id", flat=True)
        )
        won = ConnectorState.objects.filter(
            Q(running_run__isnull=True) | Q(lease_until__lt=now), connector=connector
        ).update(running_run=run, lease_until=now + timedelta(seconds=lease_seconds()))
        if not won:
            transaction.set_rollback(True)
            raise Conflict(
                _("This connector is running already; try again when that run has finished."),
                code="connector_running",
            )
        if stale:
            Run.objects.filter(pk__in=stale, status=Run.Status.RUNNING).update(
                status=Run.Status.FAILED,
                finished_at=now,
                error=_("The run stopped without finishing (the process ended)."),
                error_code="abandoned",
            )
    return run


def _heartbeat(run: Run) -> bool:
    """Extend the run's lease; ``False`` if it no longer holds the claim."""
    return bool(
        ConnectorState.objects.filter(connector_id=run.connector_id, running_run=run).update(
            lease_until=timezone.now() + timedelta(seconds=lease_seconds())
        )
    )


class RunLog:
    """The engine's ``Log`` on the server: lines are buffered and written outside the load's
    transaction (``flush``), progress updates the run row and extends its lease."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.buffer: list[RunLogLine] = []
        self.written = RunLogLine.objects.filter(run=run).count()
        self.dropped = 0

    def line(
        self,
        level: str,
        message: str,
        row: Mapping[str, Any] | None = None,
        *,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if self.written + len(self.buffer) >= MAX_LINES_PER_RUN:
            self.dropped += 1
            return
        level = level if level in RunLogLine.Level.values else RunLogLine.Level.INFO
        self.buffer.append(
            RunLogLine(
                run=self.run,
                at=timezone.now(),
                level=level,
                message=message,
                row=row,
                code=code[:40],
                params=dict(params or {}),
            )
        )

    def flush(self) -> None:
        if self.buffer:
            RunLogLine.objects.bulk_create(self.buffer, batch_size=500)
            self.written += len(self.buffer)
            self.buffer = []

    def progress(self, rows_read: int, counts: Mapping[str, int]) -> None:
        self.flush()
        fields = ["rows_read", "created", "updated", "unchanged", "deleted", "invalid"]
        for name in fields:
            setattr(self.run, name, int(counts.get(name, getattr(self.run, name))))
        self.run.save(update_fields=fields)
        _heartbeat(self.run)


def run_finish(*, run: Run, result: engine.RunResult, log: RunLog | None = None) -> Run:
    """Close the run: counts, status, error; release the claim; a failed run writes the audit
    entry ``connectors.run.failed`` (notifications tell the provider's representatives)."""
    if log is not None:
        if log.dropped:
            log.line(
                "warning",
                f"{log.dropped} more log lines were not kept.",
                code="lines.dropped",
                params={"count": log.dropped},
            )
        log.flush()
    now = timezone.now()
    with transaction.atomic():
        for name, value in result.counts().items():
            setattr(run, name, value)
        run.status = Run.Status.SUCCEEDED if result.status == "succeeded" else Run.Status.FAILED
        run.finished_at = now
        run.error = result.error
        run.error_code = result.error_code
        run.mode = result.mode
        run.drift = result.drift
        run.proposal = result.proposal
        run.save()
        ConnectorState.objects.filter(connector_id=run.connector_id, running_run=run).update(
            running_run=None, lease_until=None
        )
        if run.status == Run.Status.FAILED:
            connector = run.connector
            admin_entry_create(
                action="connectors.run.failed",
                actor=SYSTEM,
                target=connector,
                institution_id=connector.provider_id,
                changes={"run": run.pk, "error_code": run.error_code, "error": run.error[:500]},
            )
        if run.proposal:
            connector = run.connector
            admin_entry_create(
                action="connectors.schema_change.proposed",
                actor=SYSTEM,
                target=connector,
                institution_id=connector.provider_id,
                changes={"run": run.pk, "fields": run.proposal},
            )
    return run


# --- hosted runs ------------------------------------------------------------------------------


class HostedSink:
    """The engine's ``Sink`` on the server: each unit is one transaction with the load
    (``records_upsert``), its deletions (``records_delete``) and the new state row."""

    def __init__(self, *, connector: Connector, run: Run, log: RunLog) -> None:
        self.connector = connector
        self.dataset = connector.dataset
        self.run = run
        self.log = log
        self.details = {"connector": connector.pk, "run": run.pk}
        self.compiled: CompiledSchema | None = None

    def validator(self) -> engine.Validate | None:
        schema = self.dataset.schema
        self.compiled = compiled_schema(schema) if schema is not None else None
        return self.compiled.validate if self.compiled is not None else None

    def load(self, unit: engine.LoadUnit) -> dict[str, int]:
        try:
            # The engine validated every record with ``self.compiled`` (and skipped or reported
            # the invalid ones): the loading service need not validate them again.
            return unit_commit(
                actor=SYSTEM,
                connector=self.connector,
                run=self.run,
                unit=unit,
                validated=self.compiled,
            )
        except DomainError as error:
            raise engine.RunFailed(str(error.message), code=error.code) from None
        finally:
            self.log.flush()


def unit_commit(
    *,
    actor: Actor,
    connector: Connector,
    run: Run,
    unit: engine.LoadUnit,
    validated: CompiledSchema | None = None,
) -> dict[str, int]:
    """One unit in one transaction: the load (``records_upsert``), the deletions
    (``records_delete``) and the new state — hosted and remote runs alike. ``validated``: the
    compiled schema the hosted engine validated the unit's records with (``records_upsert``)."""
    details = {"connector": connector.pk, "run": run.pk}
    with transaction.atomic():
        load = records_upsert(
            actor=actor,
            dataset=connector.dataset,
            records=unit.records,
            source=Load.Source.CONNECTOR,
            mode=unit.mode,
            details=details,
            confirm_deletions=unit.confirm_deletions,
            validated=validated,
        )
        counts = {
            "created": load.created,
            "updated": load.updated,
            "unchanged": load.unchanged,
            "deleted": load.deleted,
        }
        keys = unit.deleted_keys()
        if keys:
            removed = records_delete(
                actor=actor,
                dataset=connector.dataset,
                keys=keys,
                source=Load.Source.CONNECTOR,
                details=details,
            )
            counts["deleted"] += removed.deleted
        state_commit(connector=connector, run=run, state=unit.new_state())
    return counts


def state_commit(*, connector: Connector, run: Run, state: Mapping[str, Any]) -> None:
    """Save the new state — called inside the load's transaction. Refused if the run no longer
    holds the claim (another run took over after its lease ran out): then the load rolls back."""
    saved = ConnectorState.objects.filter(connector=connector, running_run=run).update(
        state=dict(state),
        committed_at=timezone.now(),
        lease_until=timezone.now() + timedelta(seconds=lease_seconds()),
    )
    if not saved:
        raise Conflict(
            _("This run lost its claim on the connector; nothing of this part was saved."),
            code="claim_lost",
        )


def run_hosted(
    *,
    actor: Actor,
    connector: Connector,
    trigger: str = "manual",
    confirm_deletions: int | None = None,
    force_snapshot: bool = False,
) -> Run:
    """Run a hosted connector now, in this process (the worker's task or ``dagr connector
    run-now``). Returns the finished run; a refused claim raises ``Conflict``."""
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    run = run_claim(
        connector=connector, runner=Connector.Runner.HOSTED, trigger=trigger, actor=actor
    )
    log = RunLog(run)
    result = engine.RunResult()
    try:
        config = config_parse(connector.config)
        secrets = secrets_of(connector)
        mask = engine.masker(secrets.values())
        state = ConnectorState.objects.get(connector=connector).state
        try:
            source = source_open(config.source_kind, config.source_options, secrets)
        except Exception as exc:
            result.status, result.error_code = "failed", "source_unavailable"
            result.error = mask(f"{type(exc).__name__}: {exc}")
            log.line("error", result.error, code="failed", params={"error": result.error})
            return run_finish(run=run, result=result, log=log)
        try:
            result = engine.run(
                config,
                source,
                HostedSink(connector=connector, run=run, log=log),
                state,
                log,
                secrets=secrets.values(),
                confirm_deletions=confirm_deletions,
                deadline=time.monotonic() + config.timeout_s,
                force_snapshot=force_snapshot,
            )
        finally:
            source.close()
    except ValidationError as error:
        result.status, result.error_code, result.error = "failed", error.code, str(error.message)
        log.line("error", result.error, code="failed", params={"error": result.error})
    return run_finish(run=run, result=result, log=log)


def run_queue(
    *,
    actor: Actor,
    connector: Connector,
    trigger: str = "manual",
    confirm_deletions: int | None = None,
) -> None:
    """Ask the worker to run a hosted connector now ("run now" in the portal)."""
    if not rules.can_manage_connector(actor, connector):
        raise NotFound(_("No such connector."))
    if connector.runner != Connector.Runner.HOSTED:
        raise Conflict(
            _("This connector runs at the provider's site; start it there."),
            code="remote_connector",
        )
    from .tasks import connector_run_task  # the task calls run_hosted: a task/service pair

    connector_pk = connector.pk
    transaction.on_commit(
        lambda: connector_run_task.enqueue(
            connector_id=connector_pk,
            trigger=trigger,
            actor_id=getattr(actor, "pk", None),
            confirm_deletions=confirm_deletions,
        )
    )


# --- remote runs (the agent at the provider's site) -------------------------------------------


def remote_connector_get(*, actor: Actor, connector_id: int) -> Connector:
    connector = Connector.objects.select_related("dataset").filter(pk=connector_id).first()
    if connector is None or not rules.can_run_connector_remotely(actor, connector):
        raise NotFound(_("No such connector."))
    return connector


def remote_run_get(*, actor: Actor, connector_id: int, run_id: int) -> Run:
    connector = remote_connector_get(actor=actor, connector_id=connector_id)
    run = Run.objects.filter(pk=run_id, connector=connector).select_related("connector").first()
    if run is None:
        raise NotFound(_("No such run."))
    if run.status != Run.Status.RUNNING:
        raise Conflict(_("The run has finished already."), code="run_finished")
    return run


def remote_run_start(*, actor: Actor, connector_id: int) -> tuple[Run, dict[str, Any]]:
    """Claim the connector for a remote run; returns the run and the saved state to resume."""
    connector = remote_connector_get(actor=actor, connector_id=connector_id)
    run = run_claim(
        connector=connector, runner=Connector.Runner.REMOTE, trigger="remote", actor=actor
    )
    return run, ConnectorState.objects.get(connector=connector).state


def remote_run_unit(*, actor: Actor, run: Run, unit: engine.LoadUnit) -> dict[str, int]:
    """One unit of a remote run: load, deletions and the new state in one transaction (the
    remote agent's commit; the same guarantees as a hosted run). The counts add to the run."""
    counts = unit_commit(actor=actor, connector=run.connector, run=run, unit=unit)
    for name, value in counts.items():
        setattr(run, name, getattr(run, name) + value)
    run.save(update_fields=list(counts))
    return counts


def remote_run_report(
    *, run: Run, lines: Iterable[Mapping[str, Any]], counts: Mapping[str, int] | None
) -> None:
    """Log lines and progress posted by the remote agent (already masked by its engine; masked
    again here against the secrets stored for the connector, if any)."""
    mask = engine.masker(secrets_of(run.connector).values())
    log = RunLog(run)
    for item in lines:
        row = item.get("row")
        params = item.get("params")
        log.line(
            str(item.get("level", "info")),
            mask(str(item.get("message", ""))[:10_000]),
            mask(row) if isinstance(row, Mapping) else None,
            code=str(item.get("code") or ""),
            params=mask(params) if isinstance(params, Mapping) else None,
        )
    if counts is not None:
        log.progress(int(counts.get("rows_read", 0)), counts)
    else:
        log.flush()
        _heartbeat(run)


def remote_run_finish(
    *,
    run: Run,
    status: str,
    counts: Mapping[str, int],
    error: str = "",
    error_code: str = "",
    drift: list[dict[str, Any]] | None = None,
    proposal: list[dict[str, Any]] | None = None,
    mode: str = "",
) -> Run:
    mask = engine.masker(secrets_of(run.connector).values())
    result = engine.RunResult(
        status="succeeded" if status == "succeeded" else "failed",
        error=mask(error)[:10_000],
        error_code=error_code[:40],
        drift=drift or [],
        proposal=proposal or [],
        mode=mode[:10],
    )
    for name in ("rows_read", "created", "updated", "unchanged", "deleted", "invalid"):
        setattr(result, name, max(0, int(counts.get(name, 0))))
    return run_finish(run=run, result=result)


# --- schedules and housekeeping (the worker) ------------------------------------------------------


def connectors_due(*, now: datetime | None = None) -> list[int]:
    """Hosted connectors whose scheduled time has come: their next time moves on, and their ids
    are returned (the worker queues one run task each)."""
    now = now or timezone.now()
    due: list[int] = []
    candidates = Connector.objects.filter(
        enabled=True, runner=Connector.Runner.HOSTED, next_run_at__lte=now
    ).exclude(schedule="")
    for connector in candidates:
        moved = Connector.objects.filter(pk=connector.pk, next_run_at=connector.next_run_at).update(
            next_run_at=next_run(connector.schedule, now)
        )
        if moved:  # another worker did not take it first
            due.append(connector.pk)
    return due


def log_lines_prune(*, now: datetime | None = None) -> int:
    """Delete runs' log lines older than ``DAGR_CONNECTOR_LOG_DAYS`` (90 by default)."""
    now = now or timezone.now()
    days = int(getattr(settings, "DAGR_CONNECTOR_LOG_DAYS", 90))
    deleted, _counts = RunLogLine.objects.filter(at__lt=now - timedelta(days=days)).delete()
    return deleted


_last_prune: list[float] = [0.0]


def connectors_periodic() -> None:
    """The worker's periodic job (``DAGR_PERIODIC_JOBS``): queue due scheduled runs; prune old
    log lines once a day."""
    from .tasks import connector_run_task  # the task calls run_hosted: a task/service pair

    for connector_id in connectors_due():
        connector_run_task.enqueue(connector_id=connector_id, trigger="schedule", actor_id=None)
    if time.monotonic() - _last_prune[0] > 86_400:
        _last_prune[0] = time.monotonic()
        log_lines_prune()
