"""The whole-dataset walk (``selectors.live_record_batches`` / ``live_record_text_batches``):
every live record of the dataset once, in id order, none of another dataset — also when the
datasets' records are interleaved in the table (the SQLite walk goes by primary key within the
dataset's id bounds)."""

from __future__ import annotations

import orjson
import pytest
from django.utils import timezone

from dagr.core.actors import SYSTEM
from dagr.records.models import Record
from dagr.records.selectors import live_record_batches, live_record_text_batches
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import persons
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db


def test_the_walk_reads_every_live_record_of_the_dataset_in_id_order() -> None:
    first, second, empty = make_dataset(), make_dataset(), make_dataset()
    # interleaved loads: the two datasets' ids alternate in blocks
    for block in range(4):
        records_upsert(actor=SYSTEM, dataset=first, records=persons(7, start=10 * block))
        records_upsert(actor=SYSTEM, dataset=second, records=persons(5, start=10 * block))
    gone = list(
        Record.objects.filter(dataset=first).order_by("pk").values_list("pk", flat=True)[3:9:2]
    )
    Record.objects.filter(pk__in=gone).update(deleted_at=timezone.now())
    expected = list(
        Record.objects.filter(dataset=first, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "data")
    )
    assert len(expected) == 28 - 3

    batches = list(live_record_batches(dataset_id=first.pk, batch=4))
    assert [len(b) for b in batches] == [4] * 6 + [1]
    assert [row for b in batches for row in b] == expected
    texts = [row for b in live_record_text_batches(dataset_id=first.pk, batch=4) for row in b]
    assert [(pk, orjson.loads(text)) for pk, text in texts] == expected
    assert all(isinstance(text, str) for _pk, text in texts)
    assert list(live_record_batches(dataset_id=empty.pk)) == []
