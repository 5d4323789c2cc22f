"""The record store: records of a dataset, their identifier index, version history, change log
and loads.

- ``Record`` holds the current state of one object (one key per dataset); deletion is soft
  (``deleted_at``), so the change log and the history can always name what was deleted.
- ``RecordIdentifier`` indexes every identifier value of a live record, nested lists included
  (``board_members.personal_code``), for lookups by any identifier of the dataset.
- ``RecordVersion`` keeps only superseded versions; the current one is the ``Record`` itself.
- ``Change`` is the change log. ``seq`` increases monotonically and, per dataset, commits in
  order (see ``dagr.records.writer``), so a reader that remembers the last
  ``seq`` it saw never misses an entry.
- ``Load`` is one load (API batch, file upload, connector run, demo) with its counts and errors.

Bulk writes go through hand-written SQL in ``dagr.records.writer`` (tests compare it with what
the ORM reads back); secondary indexes are kept to the ones lookups need, because every index
costs insert speed.

Integrity: ``Record``, ``RecordIdentifier`` and ``Change`` rows are written only by the loader,
and they reference their dataset and record WITHOUT database foreign-key constraints (the
history, written only on updates, keeps its constraint): on PostgreSQL each deferred check locks
the referenced row once per inserted row, which cost about a third of a large load's time.
Instead a load takes one ``FOR KEY SHARE`` lock on its dataset row for its whole transaction (the
protection those checks gave: the dataset cannot be deleted under a running load; SQLite's
``BEGIN IMMEDIATE`` excludes every other writer anyway). Records are never hard-deleted by the
loader (deletion is soft); deleting a dataset or a record through the ORM still cascades (Django
collects the rows). ``tests/records/test_services.py`` checks after every kind of load that each
identifier and change row points to an existing record of the same dataset.

The key field has no ``RecordIdentifier`` rows: ``Record.key`` (unique per dataset) answers
lookups by the key (``dagr.records.selectors.record_list_by_identifier`` handles both).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Load(models.Model):
    class Mode(models.TextChoices):
        UPSERT = "upsert", _("insert or update")
        DELETE = "delete", _("delete")
        SNAPSHOT = "snapshot", _("full snapshot")

    class Source(models.TextChoices):
        API = "api", _("API")
        UPLOAD = "upload", _("file upload")
        CONNECTOR = "connector", _("connector")
        DEMO = "demo", _("demo data")
        REEVALUATION = "reevaluation", _("daily re-evaluation of date conditions")
        TEST_DATA = "test_data", _("anonymised test data release")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="loads", verbose_name=_("dataset")
    )
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.UPSERT)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    received = models.PositiveIntegerField(_("records received"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    invalid = models.PositiveIntegerField(_("invalid records"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Where the data came from: upload file id, connector id, demo seed and size, …
    details = models.JSONField(_("details"), default=dict, blank=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["dataset", "-started_at"], name="records_load_ds_started")]
        verbose_name = _("load")
        verbose_name_plural = _("loads")

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.mode} {self.status} {self.started_at:%Y-%m-%d %H:%M}"


class Record(models.Model):
    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,  # the unique (dataset, key) index serves dataset lookups
        db_constraint=False,  # see "Integrity" in the module docstring
        verbose_name=_("dataset"),
    )
    key = models.CharField(_("key"), max_length=255)
    data = models.JSONField(_("data"))
    content_hash = models.CharField(_("content hash"), max_length=32)
    version = models.PositiveIntegerField(_("version"), default=1)
    schema_version = models.PositiveIntegerField(_("schema version"), default=1)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key"], name="records_record_dataset_key")
        ]
        verbose_name = _("record")
        verbose_name_plural = _("records")

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.key} v{self.version}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RecordIdentifier(models.Model):
    """One identifier value of a live record; rows are removed when the record is deleted."""

    # ``dataset`` is a copy of ``record.dataset`` for the lookup index. Only the loader writes
    # these rows (see "Integrity" in the module docstring): no database constraint is checked.
    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    record = models.ForeignKey(
        Record, on_delete=models.CASCADE, related_name="identifiers", db_constraint=False
    )
    path = models.CharField(_("identifier field"), max_length=255)
    value = models.CharField(_("value"), max_length=255)

    class Meta:
        indexes = [
            models.Index(fields=["dataset", "path", "value"], name="records_ident_lookup"),
        ]
        verbose_name = _("record identifier")
        verbose_name_plural = _("record identifiers")

    def __str__(self) -> str:
        return f"{self.path}={self.value}"


class RecordVersion(models.Model):
    """A superseded version of a record: the data it had from ``valid_from`` until ``valid_to``.
    ``deleted`` marks a version that was the deleted state of the record."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("data"))
    content_hash = models.CharField(_("content hash"), max_length=32)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    deleted = models.BooleanField(_("deleted"), default=False)

    class Meta:
        ordering = ["record", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["record", "version"], name="records_version_unique")
        ]
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version}"


class Change(models.Model):
    class Operation(models.TextChoices):
        CREATED = "created", pgettext_lazy("change operation", "created")
        UPDATED = "updated", pgettext_lazy("change operation", "updated")
        DELETED = "deleted", pgettext_lazy("change operation", "deleted")
        # No data changed, but the day moved a record across a relative-date condition
        # ("older than 18 years"); see dagr.retrieval.reevaluation.
        RECHECKED = "rechecked", pgettext_lazy("change operation", "re-checked")

    seq = models.BigAutoField(primary_key=True)
    # ``dataset`` is a copy of ``record.dataset`` for the (dataset, seq) index. Only the loader
    # writes these rows (see "Integrity" in the module docstring): no database constraint.
    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    record = models.ForeignKey(
        Record,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,
        db_constraint=False,
    )
    record_key = models.CharField(_("key"), max_length=255)
    operation = models.CharField(_("operation"), max_length=10, choices=Operation.choices)
    version = models.PositiveIntegerField(_("version"))
    at = models.DateTimeField(_("time"))
    load = models.ForeignKey(
        Load,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["dataset", "seq"], name="records_change_ds_seq")]
        verbose_name = _("change")
        verbose_name_plural = _("changes")

    def __str__(self) -> str:
        return f"#{self.seq} {self.operation} {self.record_key} v{self.version}"


class IdempotencyKey(models.Model):
    """The first answer to a provider load sent with an ``Idempotency-Key`` header: a repeat
    from the same connection within ``IDEMPOTENCY_TTL`` gets this answer and loads nothing
    (``dagr.records.idempotency``). Rows past ``expires_at`` are deleted as new keys arrive."""

    connection_id = models.BigIntegerField(_("connection"))
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status = models.PositiveSmallIntegerField(_("status"))
    body = models.BinaryField(_("answer"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["connection_id", "key"], name="records_idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.key}"
