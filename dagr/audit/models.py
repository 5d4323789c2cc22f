"""Audit trails. This app imports no other DAGR app: actors and targets are stored as ids and
labels, so an entry stays readable even after the user or object it names is gone.

- ``AdminEntry``: every administrative change (users, roles, institutions, datasets, schemas…).
- ``AccessEntry`` (+ subjects, segment heads): every data access, in keyed hash chains.
- ``AdminHead``: the head of the administrative chain. Checkpoints of all heads are signed and
  kept outside the database (``dagr.audit.integrity``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminEntry(models.Model):
    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)  # dotted name
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=255, blank=True)
    institution_id = models.BigIntegerField(_("institution id"), null=True, blank=True)
    target_type = models.CharField(_("object type"), max_length=100)
    target_id = models.CharField(_("object id"), max_length=100, blank=True)
    target_label = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The keyed chain (see ``dagr.audit.integrity``): one chain, written under a row lock on
    # ``AdminHead``. Entries from before the chain have ``version`` 1 and no ``seq``.
    version = models.PositiveSmallIntegerField(default=2)
    seq = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["institution_id", "at"]),
        ]
        verbose_name = _("administrative audit entry")
        verbose_name_plural = _("administrative audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_label}"


class AccessEntry(models.Model):
    """One data access (API call or portal view of records): who, what, outcome.

    Entries are chained per writer *segment* (one per writing process):
    ``entry_hash = HMAC-SHA256(chain key, prev_hash ‖ every column ‖ subject_hashes)``
    (``version`` 2; version 1 entries, written before, are unkeyed SHA-256 over fewer columns)
    and ``segment_seq`` counts 1, 2, 3… so an edited, inserted or deleted entry breaks the chain
    (``dagr audit verify``); signed checkpoints outside the database reveal a removed tail or
    segment. Segments let several web processes write without a global lock.

    ``subject_hashes`` is the durable record of whose data the access touched: the entry's
    sorted 16-byte subject hashes concatenated (empty for none), written in the entry's own row
    and covered by ``entry_hash``. ``AccessSubject`` is only an index derived from it.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("served")
        NOT_FOUND = "not_found", _("not found")
        DENIED = "denied", _("denied")
        INVALID = "invalid", _("invalid request")
        ERROR = "error", _("error")

    at = models.DateTimeField(_("time"), db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    institution_id = models.BigIntegerField(_("institution id"), null=True, db_index=True)
    connection_id = models.BigIntegerField(_("connection id"), null=True, blank=True)
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    actor_label = models.CharField(_("caller"), max_length=255, blank=True)
    # No index of its own: ``access_dataset_at`` (dataset_id, at) serves every look-up by dataset,
    # and each index is pages an entry writes on every data request (``docs/performance.md``).
    dataset_id = models.BigIntegerField(_("dataset id"), null=True)
    dataset_code = models.CharField(_("dataset"), max_length=64, blank=True)
    grant_id = models.BigIntegerField(_("grant id"), null=True, blank=True)
    permission_number = models.CharField(_("permission number"), max_length=100, blank=True)
    operation = models.CharField(_("operation"), max_length=30)
    purpose = models.CharField(_("purpose"), max_length=255, blank=True)
    identifiers_asked = models.PositiveIntegerField(_("identifiers asked"), default=0)
    records_returned = models.PositiveIntegerField(_("records returned"), default=0)
    fields = models.JSONField(_("fields returned"), default=list, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), default=200)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)
    segment = models.CharField(max_length=64)
    segment_seq = models.PositiveBigIntegerField()
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=2)
    subject_hashes = models.BinaryField(default=b"", blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "segment_seq"], name="access_segment_seq")
        ]
        indexes = [
            models.Index(fields=["dataset_id", "at"], name="access_dataset_at"),
            models.Index(fields=["grant_id", "at"], name="access_grant_at"),
        ]
        verbose_name = _("access audit entry")
        verbose_name_plural = _("access audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.operation} {self.dataset_code}"


class AccessSubject(models.Model):
    """Whose data an access touched: a keyed hash of each identifier value asked for or
    returned, never the plain value. Answers "who read the data of person X" by index lookup.

    A *derived* index of ``AccessEntry.subject_hashes``: filled in bulk after commit by the
    worker (``dagr.audit.subjects.subject_index_run``) for the entries up to
    ``AccessSubjectIndex.indexed_to``; entries above it are found by scanning their
    ``subject_hashes``, so "who read" is complete even while the worker is behind.

    The hash is kept as 16 raw bytes (the first 128 bits of the HMAC-SHA256; collisions are out
    of reach at any national scale): this index takes most of the audit's write cost — random
    inserts, one per subject — and 16-byte keys instead of 64 hex characters roughly halved that
    cost (measured: 2,000-subject transactions at 300k rows, 46 → 27 ms on SQLite)."""

    entry = models.ForeignKey(AccessEntry, on_delete=models.CASCADE, related_name="subjects")
    subject_hash = models.BinaryField(max_length=16)

    class Meta:
        indexes = [models.Index(fields=["subject_hash"], name="access_subject_hash")]

    def __str__(self) -> str:
        return bytes(self.subject_hash).hex()[:12]


class AccessSubjectIndex(models.Model):
    """How far ``AccessSubject`` is filled (one row per database): every entry with an id up to
    ``indexed_to`` has its subject rows; none above it has any."""

    indexed_to = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"subjects indexed to #{self.indexed_to}"


class AccessSegment(models.Model):
    """The head of each writer's chain (last sequence number and hash), so a truncated tail is
    detected too. Publishing the heads elsewhere (anchoring) makes the chain evidence against
    someone who can rewrite the whole database."""

    segment = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.segment


class AdminHead(models.Model):
    """The head of the administrative audit chain (one row, locked while an entry is written)."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"admin #{self.last_seq}"
