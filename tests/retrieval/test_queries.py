"""The hand-written SQL of the hot path gives the ORM's answer: the same records (by id) as
``dagr.records.selectors`` filtered with the grant's Python predicate."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dagr.grants.selectors import grant_active_for
from dagr.records.models import Record, RecordIdentifier
from dagr.records.selectors import live_records, record_list_by_identifier
from dagr.retrieval import queries

from .factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    w = make_world()
    grant = grant_active_for(
        institution_id=w.recipient.pk, dataset_id=w.dataset.pk, permission_number="ATL-1"
    )
    today = timezone.localdate()
    where, params = grant.where(column=queries.DATA_COLUMN, today=today)
    return w, grant.predicate(today=today), where, params


def orm_ids(w, predicate, path, value):
    if path == "registration_number":
        qs = live_records(w.dataset).filter(key=value)
    else:
        qs = record_list_by_identifier(dataset=w.dataset, path=path, value=value)
    return [r.pk for r in qs.order_by("pk") if predicate(r.data)]


CASES = [
    ("registration_number", "40000000002"),
    ("registration_number", "40000000021"),
    ("registration_number", "40000000023"),
    ("address_code", "100000007"),
    ("address_code", "100000022"),
    ("board_members.personal_code", "P-SHARED"),
    ("board_members.personal_code", "P-9"),
    ("board_members.personal_code", "P-nobody"),
]


@pytest.mark.parametrize(("path", "value"), CASES)
def test_single_lookup_matches_orm(setup, path, value):
    w, predicate, where, params = setup
    rows = queries.records_by_identifier(
        dataset_id=w.dataset.pk, path=path, key_path="registration_number", value=value,
        where=where, params=params,
    )  # fmt: skip
    assert [pk for pk, _data in rows] == orm_ids(w, predicate, path, value)
    for pk, data in rows:
        assert data == Record.objects.get(pk=pk).data


def test_batch_lookup_matches_orm(setup):
    w, predicate, where, params = setup
    for path in ("registration_number", "address_code", "board_members.personal_code"):
        values = [v for p, v in CASES if p == path]
        rows = queries.records_by_identifiers(
            dataset_id=w.dataset.pk, path=path, key_path="registration_number", values=values,
            where=where, params=params,
        )  # fmt: skip
        expected = sorted(
            (value, pk) for value in values for pk in orm_ids(w, predicate, path, value)
        )
        assert sorted((value, pk) for value, pk, _data in rows) == expected


def test_key_lookup_works_without_key_identifier_rows(setup):
    """The loader may stop writing identifier rows for the key path; the key still resolves."""
    w, predicate, where, params = setup
    RecordIdentifier.objects.filter(dataset=w.dataset, path="registration_number").delete()
    rows = queries.records_by_identifier(
        dataset_id=w.dataset.pk, path="registration_number", key_path="registration_number",
        value="40000000002", where=where, params=params,
    )  # fmt: skip
    assert [pk for pk, _ in rows] == orm_ids(w, predicate, "registration_number", "40000000002")
    assert len(rows) == 1


def test_page_matches_orm(setup):
    w, predicate, where, params = setup
    expected = [r.pk for r in live_records(w.dataset).order_by("pk") if predicate(r.data)]
    got, after = [], 0
    while True:
        rows = queries.records_page(
            dataset_id=w.dataset.pk, after_id=after, limit=7, where=where, params=params
        )
        got += [pk for pk, _ in rows]
        if len(rows) < 7:
            break
        after = rows[-1][0]
    assert got == expected and len(got) == 20
