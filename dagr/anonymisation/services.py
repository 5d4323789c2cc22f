"""Anonymised test datasets: the provider's settings, requesting a release, building it (the
worker's task body) and publishing it into the test datasets.

How a release goes (``Release.Status``): queued → running → published (older published releases
of its datasets become superseded), or refused (the privacy report did not pass: nothing is
published), or failed (an error: nothing is published either).

- The engine (``engine.build_release``) knows nothing of models or storage. This module feeds it
  the source records (streamed from the database in id order, one short query per batch — a
  dataset is never held whole), a fresh random release key, the rules, the privacy settings and
  the address register, and collects its output as NDJSON in Django's default storage
  (``testdata/<release>/<code>.ndjson``).
- While building, progress is written in its own short transactions: SQLite has one writer,
  shared with the API's access audit, so no write transaction is held during the build.
- Publishing loads each output into its test dataset by snapshot through the one loading
  service (``records_upsert``, source ``test_data``, confirming exactly the deletions it
  computed), all datasets of the release in one transaction: a failure leaves every test dataset
  as it was. The release key is dropped with the build: it is never stored, only its
  fingerprint, so two releases cannot be linked, not even by us.
- Only one release per dataset is queued or running at a time (checked when requested and when
  the worker claims it).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

import orjson
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticValidationError

from dagr.accounts.models import acting_user
from dagr.audit.services import admin_entry_create
from dagr.catalog.models import DATASET_CODE_RE, Dataset
from dagr.catalog.services import dataset_create, dataset_schema_update
from dagr.core.actors import SYSTEM, Actor
from dagr.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from dagr.permissions import rules as permission_rules
from dagr.records.models import Load, Record
from dagr.records.selectors import live_record_batches, live_record_text_batches, record_count
from dagr.records.services import records_upsert

from . import engine
from .configuration import default_rules, effective_rules, schema_of, settings_for, validate_rules
from .engine import (
    DatasetInput,
    PrivacySettings,
    QuasiIdentifier,
    ReleaseSpec,
    default_quasi_identifiers,
)
from .models import Release, ReleaseDataset, TestDataset, TestDataSettings
from .rules import Rule, RuleSet
from .spec import QI_LEVELS

logger = logging.getLogger(__name__)

BATCH = 2000
# a release of at least this many records is transformed by settings.DAGR_ANONYMISATION_WORKERS
# processes (below it forking costs more than it saves)
PARALLEL_FROM = 20_000
ACTIVE = (Release.Status.QUEUED, Release.Status.RUNNING)
STORAGE_PREFIX = "testdata"


# --- settings ------------------------------------------------------------------------------------


def _check_manage(actor: Actor, dataset: Dataset) -> None:
    if not permission_rules.can_manage_test_data(actor, dataset):
        raise PermissionDenied(
            _("You may not prepare test data of this dataset."), code="test_data_denied"
        )


def settings_update(
    *,
    actor: Actor,
    dataset: Dataset,
    rules: dict[str, Any],
    quasi_identifiers: list[dict[str, str]],
    sensitive: list[str],
    k: int,
) -> TestDataSettings:
    """Store the provider's rule overrides (only those that differ from the defaults are kept),
    quasi-identifiers, sensitive fields and k. Every problem is reported at once
    (``ValidationError`` with ``errors``: ``{"location": <field path or setting>, "message"}``)."""
    _check_manage(actor, dataset)
    schema = schema_of(dataset)
    defaults = default_rules(schema)
    paths = {path for path, _f in schema.field_paths()}
    errors: list[dict[str, str]] = []
    parsed: RuleSet = {}
    for path, raw in rules.items():
        if path not in defaults:
            errors.append({"location": path, "message": _("The dataset has no such field.")})
            continue
        try:
            parsed[path] = raw if isinstance(raw, Rule) else Rule.model_validate(raw)
        except PydanticValidationError:
            errors.append({"location": path, "message": _("This rule is not valid.")})
    # the engine judges the whole rule set as it would build it: defaults with these changes
    errors += [
        {"location": problem.path, "message": problem.message}
        for problem in validate_rules(schema, {**defaults, **parsed})
    ]
    overrides = {
        path: rule.model_dump(mode="json")
        for path, rule in parsed.items()
        if defaults.get(path) != rule
    }
    clean_qis: list[dict[str, str]] = []
    for qi in quasi_identifiers:
        code, path, level = qi.get("dataset") or dataset.code, qi.get("path", ""), qi.get("level")
        level = level or "exact"
        if code == dataset.code and path not in paths:
            errors.append(
                {
                    "location": "quasi_identifiers",
                    "message": _("No such field: %(path)s") % {"path": path},
                }
            )
        elif level not in QI_LEVELS:
            errors.append(
                {
                    "location": "quasi_identifiers",
                    "message": _("Unknown level: %(level)s") % {"level": level},
                }
            )
        else:
            clean_qis.append({"dataset": code, "path": path, "level": level})
    for path in sensitive:
        if path not in paths:
            errors.append(
                {"location": "sensitive", "message": _("No such field: %(path)s") % {"path": path}}
            )
    if not 2 <= k <= 1000:
        errors.append({"location": "k", "message": _("k must be between 2 and 1000.")})
    if errors:
        raise ValidationError(
            _("The test data settings have errors."),
            code="invalid_test_data_settings",
            errors=errors,
        )
    with transaction.atomic():
        stored, _created = TestDataSettings.objects.select_for_update().get_or_create(
            dataset=dataset
        )
        before = {
            "rules": stored.rules,
            "quasi_identifiers": stored.quasi_identifiers,
            "sensitive": stored.sensitive,
            "k": stored.k,
        }
        stored.rules, stored.quasi_identifiers = overrides, clean_qis
        stored.sensitive, stored.k = list(sensitive), k
        stored.updated_by = acting_user(actor)
        stored.save()
        after = {
            "rules": overrides,
            "quasi_identifiers": clean_qis,
            "sensitive": list(sensitive),
            "k": k,
        }
        changes = {
            name: [before[name], after[name]] for name in after if before[name] != after[name]
        }
        admin_entry_create(
            action="anonymisation.settings.changed",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes=changes,
        )
    return stored


# --- requesting a release -----------------------------------------------------------------------


# A release still queued or running after this long is taken as abandoned (a worker that ended
# mid-build, a queue nobody works on): it no longer blocks a new release of its datasets.
STALE_AFTER = timedelta(hours=6)


def _give_up_stale() -> None:
    cutoff = timezone.now() - STALE_AFTER
    Release.objects.filter(
        Q(status=Release.Status.QUEUED, created_at__lt=cutoff)
        | Q(status=Release.Status.RUNNING, started_at__lt=cutoff)
    ).update(
        status=Release.Status.FAILED,
        phase="",
        error=_(
            "The build did not finish (the background worker stopped?). Nothing was published."
        ),
        finished_at=timezone.now(),
    )


def _busy_datasets(dataset_ids: Sequence[int], exclude: int | None = None) -> list[str]:
    qs = ReleaseDataset.objects.filter(source_id__in=dataset_ids, release__status__in=ACTIVE)
    if exclude is not None:
        qs = qs.exclude(release_id=exclude)
    return sorted(set(qs.values_list("source__code", flat=True)))


def release_request(
    *, actor: Actor, datasets: Sequence[Dataset], k: int | None = None, enqueue: bool = True
) -> Release:
    """Queue a release of ``datasets`` (built together: joins between them survive). Only the
    provider representatives of EVERY dataset's provider, or an administrator, may ask. ``k``
    overrides the datasets' settings (the largest of them otherwise). ``enqueue=False``: the
    caller builds it itself (the CLI, synchronously) instead of the worker."""
    datasets = list({d.pk: d for d in datasets}.values())
    if not datasets:
        raise ValidationError(_("Choose at least one dataset."), code="no_datasets")
    if not permission_rules.can_build_test_release(actor, datasets):
        raise PermissionDenied(
            _("You may build test data only of datasets your institution provides."),
            code="test_data_denied",
        )
    for dataset in datasets:
        schema_of(dataset)
    if k is None:
        k = max(settings_for(d).k for d in datasets)
    if not 2 <= k <= 1_000_000:
        raise ValidationError(_("k must be between 2 and 1000000."), code="invalid_k")
    # tasks.py imports this module, so a top-level import of it would be an import cycle
    from .tasks import release_build_task

    with transaction.atomic():
        # Requests for the same datasets queue here (row locks on PostgreSQL; SQLite's write
        # transactions are serialised already), so the check below cannot pass twice at once.
        list(
            Dataset.objects.select_for_update()
            .filter(pk__in=[d.pk for d in datasets])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _give_up_stale()
        busy = _busy_datasets([d.pk for d in datasets])
        if busy:
            raise Conflict(
                _("A release of %(codes)s is already being built. Wait until it ends.")
                % {"codes": ", ".join(busy)},
                code="release_running",
            )
        release = _release_numbered(
            k=k, requested_by=acting_user(actor), requested_label=str(actor)[:255]
        )
        ReleaseDataset.objects.bulk_create(
            [ReleaseDataset(release=release, source=d, position=i) for i, d in enumerate(datasets)]
        )
        admin_entry_create(
            action="anonymisation.release.requested",
            actor=actor,
            target=release,
            institution_id=datasets[0].provider_id,
            changes={"datasets": [d.code for d in datasets], "k": k},
        )
        release_id = release.pk
        if enqueue:
            transaction.on_commit(lambda: release_build_task.enqueue(release_id=release_id))
    return release


def _release_numbered(**fields: Any) -> Release:
    """A new release with the next number. Two requests for other datasets may pick the same
    number at once (each sees only committed releases); the unique number makes the later one
    fail, and it takes the next number (in a savepoint, so the caller's transaction goes on)."""
    for attempt in range(_NUMBER_ATTEMPTS):
        number = (Release.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                return Release.objects.create(number=number, **fields)
        except IntegrityError:
            if attempt == _NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_NUMBER_ATTEMPTS = 20


# --- building ------------------------------------------------------------------------------------


def _progress(release_id: int, **values: Any) -> None:
    """One short transaction of its own (never inside the build's reading)."""
    Release.objects.filter(pk=release_id).update(**values)


def _source_records(dataset_id: int) -> Callable[[], Iterator[dict[str, Any]]]:
    def records() -> Iterator[dict[str, Any]]:
        for batch in live_record_batches(dataset_id=dataset_id, batch=BATCH):
            for _pk, data in batch:
                yield data

    return records


def _source_texts(dataset_id: int) -> Callable[[], Iterator[str]]:
    """The same records as their JSON text: parsed by the engine where it transforms them (in
    its worker processes), so this process neither parses nor pickles them."""

    def texts() -> Iterator[str]:
        for batch in live_record_text_batches(dataset_id=dataset_id, batch=BATCH):
            for _pk, text in batch:
                yield text

    return texts


def address_register(datasets: Sequence[Dataset]) -> Iterator[tuple[str, str | None]] | None:
    """``(code, parent code)`` of the address register the release uses for address codes: a
    dataset whose key is an address code and which has another address-code field (its parent),
    preferably one in the release, else one on the platform. ``None`` when there is none."""

    def parent_field(dataset: Dataset) -> str | None:
        try:
            schema = schema_of(dataset)
        except DomainError:
            return None
        kinds = dict(schema.identifier_paths())
        if kinds.get(schema.key) != "address_code":
            return None
        others = [p for p, kind in kinds.items() if kind == "address_code" and p != schema.key]
        return next((p for p in others if "." not in p), None)

    in_release = {d.pk for d in datasets}
    candidates = sorted(
        Dataset.objects.filter(schema__isnull=False)
        .exclude(test_source_link__isnull=False)
        .select_related("schema"),
        key=lambda d: (d.pk not in in_release, d.pk),
    )
    for dataset in candidates:
        parent = parent_field(dataset)
        if parent is None:
            continue
        key = schema_of(dataset).key

        def codes(
            dataset_id: int = dataset.pk, key: str = key, parent: str = parent
        ) -> Iterator[tuple[str, str | None]]:
            for batch in live_record_batches(dataset_id=dataset_id, batch=BATCH):
                for _pk, data in batch:
                    value = data.get(parent)
                    yield str(data[key]), (str(value) if value not in (None, "") else None)

        return codes()
    return None


def _privacy(release: Release, datasets: Sequence[Dataset]) -> PrivacySettings:
    qis: list[QuasiIdentifier] = []
    sensitive: list[tuple[str, str]] = []
    codes = {d.code for d in datasets}
    for dataset in datasets:
        stored = settings_for(dataset)
        for qi in stored.quasi_identifiers or []:
            if qi.get("dataset", dataset.code) in codes:
                qi_obj = QuasiIdentifier(
                    dataset=qi.get("dataset", dataset.code),
                    path=qi["path"],
                    level=qi.get("level", "exact"),
                )
                if qi_obj not in qis:
                    qis.append(qi_obj)
        sensitive += [(dataset.code, path) for path in stored.sensitive or []]
    if not qis:  # nothing declared: the defaults (birth year, gender, territory of each person)
        qis = list(default_quasi_identifiers([(d.code, schema_of(d)) for d in datasets]))
    return PrivacySettings(quasi_identifiers=tuple(qis), sensitive=tuple(sensitive), k=release.k)


def _workers(records: int) -> int:
    """The engine's worker processes for a release of ``records`` records: forked only from a
    process running one thread (a fork while another thread holds a lock can hang the child;
    a threaded caller builds in its own process)."""
    if records < PARALLEL_FROM or threading.active_count() > 1:
        return 1
    return max(1, settings.DAGR_ANONYMISATION_WORKERS)


@dataclass
class _Output:
    path: str
    handle: IO[bytes]
    count: int = 0


def release_build(
    *, release_id: int, on_progress: Callable[[Release], None] | None = None
) -> Release:
    """Build a queued release (the worker's task; the CLI calls it directly): claim it, run the
    engine over the streamed source records, keep the output, then publish it if the privacy
    report passed, or record why it was refused. Any error marks it failed; nothing is then
    published. Runs once even if two workers get it."""
    release = Release.objects.get(pk=release_id)
    items = list(release.items.select_related("source", "source__schema", "source__provider"))
    sources = [item.source for item in items]
    with transaction.atomic():
        busy = _busy_datasets([d.pk for d in sources], exclude=release.pk)
        running_elsewhere = ReleaseDataset.objects.filter(
            source_id__in=[d.pk for d in sources], release__status=Release.Status.RUNNING
        ).exclude(release_id=release.pk)
        if running_elsewhere.exists():
            Release.objects.filter(pk=release.pk, status=Release.Status.QUEUED).update(
                status=Release.Status.FAILED,
                error=_("Another release of %(codes)s was being built.")
                % {"codes": ", ".join(busy)},
                finished_at=timezone.now(),
            )
            return Release.objects.get(pk=release.pk)
        key = secrets.token_bytes(32)  # never stored: only its fingerprint below
        claimed = Release.objects.filter(pk=release.pk, status=Release.Status.QUEUED).update(
            status=Release.Status.RUNNING,
            phase="reading",
            started_at=timezone.now(),
            key_fingerprint=hashlib.sha256(key).hexdigest()[:16],
            total=sum(record_count(d) for d in sources),
        )
    if not claimed:
        return release
    outputs: dict[str, _Output] = {}
    try:
        report = _build(release, items, sources, key, outputs, on_progress)
        del key
        if report.passed:
            _store_outputs(items, outputs)
            _progress(release.pk, phase="publishing")
            _publish(release.pk, items, report.as_json())
        else:  # nothing is kept: the output of a refused release is not stored anywhere
            with transaction.atomic():
                Release.objects.filter(pk=release.pk).update(
                    status=Release.Status.REFUSED,
                    phase="",
                    report=report.as_json(),
                    finished_at=timezone.now(),
                )
                admin_entry_create(
                    action="anonymisation.release.refused",
                    actor=SYSTEM,
                    target=release,
                    institution_id=sources[0].provider_id,
                    changes={"k": report.k, "k_required": report.k_required},
                )
    except Exception as exc:
        if not isinstance(exc, DomainError):
            logger.exception("building test data release %s failed", release.pk)
        message = (
            str(exc.message)
            if isinstance(exc, DomainError)
            else _("An unexpected error stopped the build. Nothing was published.")
        )
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.FAILED, phase="", error=message[:2000], finished_at=timezone.now()
        )
        _discard_outputs(release)
    finally:
        for output in outputs.values():
            output.handle.close()
    return Release.objects.get(pk=release.pk)


def _build(
    release: Release,
    items: list[ReleaseDataset],
    sources: list[Dataset],
    key: bytes,
    outputs: dict[str, _Output],
    on_progress: Callable[[Release], None] | None = None,
) -> engine.PrivacyReport:
    inputs = []
    for item in items:
        dataset = item.source
        outputs[dataset.code] = _Output(
            path=f"{STORAGE_PREFIX}/{release.number}/{dataset.code}.ndjson",
            handle=tempfile.TemporaryFile(),  # noqa: SIM115 - closed in release_build
        )
        rules = effective_rules(dataset)
        ReleaseDataset.objects.filter(pk=item.pk).update(
            rules={path: rule.model_dump(mode="json") for path, rule in rules.items()}
        )
        inputs.append(
            DatasetInput(
                code=dataset.code,
                schema=schema_of(dataset),
                rules=rules,
                records=_source_records(dataset.pk),
                count=record_count(dataset),
                raw_records=_source_texts(dataset.pk),
            )
        )
    spec = ReleaseSpec(
        key=key,
        datasets=tuple(inputs),
        privacy=_privacy(release, sources),
        address_codes=address_register(sources),
        workers=_workers(sum(i.count for i in inputs)),
    )

    def sink(code: str, record: dict[str, Any]) -> None:
        output = outputs[code]
        output.handle.write(orjson.dumps(record) + b"\n")
        output.count += 1

    def ndjson(code: str, lines: bytes, n: int) -> None:  # the same bytes as ``sink``
        output = outputs[code]
        output.handle.write(lines)
        output.count += n

    def progress(done: int) -> None:
        _progress(release.pk, done=done, phase="anonymising")
        if on_progress is not None:
            on_progress(Release.objects.get(pk=release.pk))

    _progress(release.pk, phase="anonymising")
    report = engine.build_release(spec, sink, progress, ndjson=ndjson)
    if "quasi_identifiers" not in report.details:  # the pages name what k was computed over
        report.details["quasi_identifiers"] = [
            {"dataset": q.dataset, "path": q.path, "level": q.level}
            for q in spec.privacy.quasi_identifiers
        ]
    _progress(release.pk, done=sum(o.count for o in outputs.values()), phase="checking")
    return report


def _store_outputs(items: list[ReleaseDataset], outputs: dict[str, _Output]) -> None:
    for item in items:
        output = outputs[item.source.code]
        output.handle.seek(0)
        name = default_storage.save(output.path, File(output.handle))
        ReleaseDataset.objects.filter(pk=item.pk).update(storage_path=name, records=output.count)
        item.storage_path, item.records = name, output.count


def _discard_outputs(release: Release) -> None:
    for item in ReleaseDataset.objects.filter(release=release).exclude(storage_path=""):
        default_storage.delete(item.storage_path)
    ReleaseDataset.objects.filter(release=release).update(storage_path="", records=0)


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        default_storage.delete(path)


def output_records(storage_path: str) -> Iterator[dict[str, Any]]:
    """The records of one stored release output, streamed."""
    with default_storage.open(storage_path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


# --- publishing -----------------------------------------------------------------------------------


def test_code(source_code: str) -> str:
    """``<source>-test``, shortened to fit the dataset code rule (≤ 64 characters)."""
    return source_code[: 64 - len("-test")].rstrip("-") + "-test"


def _test_dataset(source: Dataset) -> Dataset:
    """The source's test dataset, created on the first publish (sandbox, same provider and
    schema); its schema follows the source's."""
    link = (
        TestDataset.objects.select_related("target", "target__schema").filter(source=source).first()
    )
    document = source.schema.definition if source.schema else {}
    if link is not None:
        target = link.target
        if target.schema is None or target.schema.definition != document:
            dataset_schema_update(
                actor=SYSTEM,
                dataset=target,
                schema=document,
                note=_("follows the schema of %(code)s") % {"code": source.code},
            )
            target.refresh_from_db()
        return target
    code = test_code(source.code)
    if not re.match(DATASET_CODE_RE, code) or Dataset.objects.filter(code=code).exists():
        raise Conflict(
            _("The code %(code)s for the test dataset is taken by another dataset.")
            % {"code": code},
            code="test_dataset_code_taken",
        )
    target = dataset_create(
        actor=SYSTEM,
        provider=source.provider,
        code=code,
        title_lv=f"{source.title_lv} (testa dati)"[:255],
        title_en=f"{source.title_en} (test data)"[:255],
        description_lv=_lv_description(source),
        description_en=(
            f"Anonymised test data of {source.code}: the same structure, no real person's data."
        ),
        schema=document,
        status=Dataset.Status.SANDBOX,
    )
    TestDataset.objects.create(source=source, target=target)
    return target


def _lv_description(source: Dataset) -> str:
    return (
        f"Datu kopas {source.code} anonimizēti testa dati: tāda pati struktūra, "
        "bez reālu personu datiem."
    )


def _would_delete(target: Dataset, storage_path: str) -> int:
    """How many live records of the test dataset a snapshot of the output deletes: those whose
    key is not in the output (counted in batches; the output is read, never held)."""
    schema = schema_of(target)
    live = record_count(target)
    if not live:
        return 0
    kept, batch = 0, []
    for record in output_records(storage_path):
        batch.append(str(record.get(schema.key)))
        if len(batch) == 500:
            kept += Record.objects.filter(
                dataset=target, key__in=batch, deleted_at__isnull=True
            ).count()
            batch = []
    if batch:
        kept += Record.objects.filter(
            dataset=target, key__in=batch, deleted_at__isnull=True
        ).count()
    return live - kept


def _publish(release_id: int, items: list[ReleaseDataset], report: dict[str, Any]) -> None:
    """Load every output into its test dataset and mark the release published, in ONE
    transaction: either all test datasets show the new release or none does."""
    release = Release.objects.get(pk=release_id)
    with transaction.atomic():
        superseded: list[int] = []
        for item in items:
            target = _test_dataset(item.source)
            load = records_upsert(
                actor=SYSTEM,
                dataset=target,
                records=output_records(item.storage_path),
                source=Load.Source.TEST_DATA,
                mode=Load.Mode.SNAPSHOT,
                details={"release": release.number},
                confirm_deletions=_would_delete(target, item.storage_path),
            )
            ReleaseDataset.objects.filter(pk=item.pk).update(
                test_dataset=target, records=load.received
            )
            link = TestDataset.objects.get(source=item.source)
            if link.release_id and link.release_id != release.pk:
                superseded.append(link.release_id)
            link.release = release
            link.save(update_fields=["release"])
        # a release is superseded when none of its datasets shows it any more
        for old in set(superseded):
            if not TestDataset.objects.filter(release_id=old).exists():
                Release.objects.filter(pk=old, status=Release.Status.PUBLISHED).update(
                    status=Release.Status.SUPERSEDED
                )
                # its output is no longer what anyone downloads: not kept longer than needed
                paths = list(
                    ReleaseDataset.objects.filter(release_id=old)
                    .exclude(storage_path="")
                    .values_list("storage_path", flat=True)
                )
                ReleaseDataset.objects.filter(release_id=old).update(storage_path="")
                transaction.on_commit(functools.partial(_delete_files, paths))
        now = timezone.now()
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.PUBLISHED,
            phase="",
            report=report,
            finished_at=now,
            published_at=now,
        )
        admin_entry_create(
            action="anonymisation.release.published",
            actor=SYSTEM,
            target=release,
            institution_id=items[0].source.provider_id,
            changes={"datasets": [i.source.code for i in items]},
        )
