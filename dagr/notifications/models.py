"""Notifications (DU-9): the in-portal inbox, per-user e-mail preferences, editable templates
(every saved version kept), newsletters and the e-mail outbox (``Delivery``).

Nothing here is written by model signals. ``dispatch.dispatch_pending`` reads the administrative
audit log after ``DispatchCursor.last_seq`` (the audit chain's gap-free sequence number, assigned
under a row lock so it grows in commit order) and writes ``Notification`` and ``Delivery`` rows
and the advanced cursor in ONE transaction: a process that dies half-way leaves the cursor where
it was and the next run does the same work again; (user, kind, entry_seq) is unique, so nothing
is notified twice either.

Why our own ``Delivery`` and not django-post-office: post-office would carry the queue and the
per-message status, but (1) it sends through its own management command/cron or uWSGI spooler,
a second scheduler next to ``dagr worker``; (2) its retry knows only "failed", while we must tell
a transient 4xx (retry with backoff) from a permanent 5xx and keep each SMTP answer; (3) its
templates are Django templates stored unsandboxed, while ours are Jinja2 sandboxed, validated and
versioned; (4) newsletters need per-recipient progress joined to our own newsletter rows. What
remains to carry is one table and ~150 lines (``delivery.py``), so we keep it ourselves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatchCursor(models.Model):
    """How far the audit log has been turned into notifications (one row per reader name)."""

    name = models.CharField(max_length=50, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class CheckMark(models.Model):
    """One time-based event already announced (e.g. ``grant-expiring:12:30:2027-01-31``): the
    periodic check writes its audit entry only when it can insert the mark, so each event is
    audited, and hence notified, once."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=50)
    entry_seq = models.PositiveBigIntegerField(null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "entry_seq"], name="notification_once_per_entry"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.subject


class Preference(models.Model):
    """A user's choice for one kind: e-mail on or off (the inbox always gets it). No row = on.
    The pseudo-kind ``newsletter`` records an unsubscription from newsletters."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    kind = models.CharField(max_length=50)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.email}"


class Template(models.Model):
    """One saved version of a kind's template in one language. The newest version of a
    (kind, language) is in force; with none, the shipped default (``defaults.py``) is."""

    kind = models.CharField(_("kind"), max_length=50)
    language = models.CharField(_("language"), max_length=5)
    version = models.PositiveIntegerField(_("version"))
    subject = models.CharField(_("subject"), max_length=255)
    html = models.TextField(_("HTML body"))
    text = models.TextField(_("text body"), blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)
    created_by_label = models.CharField(_("saved by"), max_length=255, blank=True)

    class Meta:
        ordering = ["kind", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "version"], name="notification_template_version"
            )
        ]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")

    def __str__(self) -> str:
        return f"{self.kind}/{self.language} v{self.version}"


class Newsletter(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        QUEUED = "queued", _("queued for sending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")

    class Group(models.TextChoices):
        ALL = "all", _("all active users")
        ROLE = "role", _("users with a role")
        INSTITUTION_KIND = "institution_kind", _("users of institutions of a kind")
        DATASET_GRANTS = "dataset_grants", _("users of a dataset's grants")
        PROVIDERS_BY_STATUS = "providers_by_status", _("providers of datasets with a status")

    subject_lv = models.CharField(_("subject (Latvian)"), max_length=255)
    html_lv = models.TextField(_("HTML body (Latvian)"))
    text_lv = models.TextField(_("text body (Latvian)"), blank=True)
    subject_en = models.CharField(_("subject (English)"), max_length=255)
    html_en = models.TextField(_("HTML body (English)"))
    text_en = models.TextField(_("text body (English)"), blank=True)
    group = models.CharField(_("recipients"), max_length=30, choices=Group.choices)
    group_value = models.CharField(_("group parameter"), max_length=100, blank=True)
    # Mandatory service messages go to everyone in the group, without an unsubscribe link.
    mandatory = models.BooleanField(_("mandatory service message"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    created_by_label = models.CharField(_("written by"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    queued_at = models.DateTimeField(_("sent by"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("newsletter")
        verbose_name_plural = _("newsletters")

    def __str__(self) -> str:
        return self.subject_lv


class Delivery(models.Model):
    """One e-mail to one recipient, rendered when queued (so a template edited later does not
    change what was announced), sent by the worker (``delivery.deliveries_send``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to = models.EmailField(_("to"))
    kind = models.CharField(_("kind"), max_length=50)
    language = models.CharField(max_length=5, default="lv")
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    subject = models.CharField(max_length=255)
    html = models.TextField()
    text = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_answer = models.CharField(_("SMTP answer"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]
        verbose_name = _("e-mail delivery")
        verbose_name_plural = _("e-mail deliveries")

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} ({self.status})"
