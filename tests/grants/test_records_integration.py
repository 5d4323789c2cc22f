"""The engine over the real record store's column, as the retrieval API will use it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from dagr.grants.cache import grant_cache
from dagr.grants.fields import project_fields
from dagr.grants.selectors import grant_active_for
from dagr.records.models import Record
from tests.grants.factories import make_approved, make_world

pytestmark = pytest.mark.django_db

PEOPLE = [
    {"personal_code": "1", "name": "Anna", "birth_date": "2008-02-29", "children": 0,
     "board_members": [{"personal_code": "9", "role": "priekšsēdētājs"}]},
    {"personal_code": "2", "name": "Ēriks", "birth_date": "1980-05-01", "children": 2},
    {"personal_code": "3", "name": "Zane", "birth_date": "2010-01-01", "children": 1},
    {"personal_code": "4", "name": "Ilze"},
]  # fmt: skip


def test_where_and_predicate_agree_over_records_record_and_fields_are_projected():
    w = make_world()
    make_approved(w, "ATL-1", fields=["name", "board_members.role"])
    grant_cache.invalidate()
    now = timezone.now()
    for person in PEOPLE:
        Record.objects.create(
            dataset=w.dataset, key=person["personal_code"], data=person, content_hash="x",
            created_at=now, updated_at=now,
        )  # fmt: skip
    grant = grant_active_for(
        institution_id=w.recipient.pk, dataset_id=w.dataset.pk, permission_number="ATL-1"
    )
    today = date(2026, 3, 1)
    where, params = grant.where(column='"records_record"."data"', today=today)
    in_sql = set(
        Record.objects.filter(dataset=w.dataset)
        .filter(RawSQL(where, params, output_field=BooleanField()))  # noqa: S611 - bound params
        .values_list("key", flat=True)
    )
    predicate = grant.predicate(today=today)
    in_python = {r.key for r in Record.objects.filter(dataset=w.dataset) if predicate(r.data)}
    assert in_sql == in_python == {"1", "2"}  # adults on 2026-03-01 (born 2008-02-29 included)
    anna = Record.objects.get(dataset=w.dataset, key="1")
    assert project_fields(anna.data, grant.tree) == {
        "name": "Anna",
        "board_members": [{"role": "priekšsēdētājs"}],
    }
