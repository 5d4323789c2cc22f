"""Change-log entries written outside a load: records a relative-date condition judges differently
on a later day (``retrieval.recheck`` finds them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone

from dagr.catalog.models import Dataset

from .models import Change, Load, Record
from .signals import records_changed
from .writer import IN_CHUNK, lock_dataset


def changes_mark_reevaluated(
    *, dataset: Dataset, record_ids: Sequence[int], since: date, until: date
) -> Load | None:
    """Append a ``rechecked`` change-log entry for each live record of ``record_ids``: records
    whose data did not change but which a relative-date condition ("older than 18 years") judges
    differently on ``until`` than on ``since``. The entries belong to one ``Load`` (source
    ``reevaluation``) whose details hold both dates; change readers judge the state before with
    ``since``. Written under the dataset's lock like any load, so sequence order holds."""
    if not record_ids:
        return None
    with transaction.atomic():
        lock_dataset(dataset)
        now = timezone.now()
        load = Load.objects.create(
            dataset=dataset,
            mode=Load.Mode.UPSERT,
            source=Load.Source.REEVALUATION,
            status=Load.Status.SUCCEEDED,
            details={"since": since.isoformat(), "until": until.isoformat()},
            actor_label="system",
            started_at=now,
            finished_at=now,
        )
        ids = sorted(set(record_ids))
        entries: list[Change] = []
        for start in range(0, len(ids), IN_CHUNK):
            rows = Record.objects.filter(
                dataset=dataset, pk__in=ids[start : start + IN_CHUNK], deleted_at__isnull=True
            ).values_list("id", "key", "version")
            entries.extend(
                Change(
                    dataset=dataset,
                    record_id=pk,
                    record_key=key,
                    operation=Change.Operation.RECHECKED,
                    version=version,
                    at=now,
                    load=load,
                )
                for pk, key, version in rows
            )
        Change.objects.bulk_create(entries, batch_size=1000)
        Load.objects.filter(pk=load.pk).update(received=len(entries), updated=len(entries))
        dataset_id = dataset.pk
        transaction.on_commit(
            lambda: records_changed.send(sender=Dataset, dataset_id=dataset_id), robust=True
        )
    return load
