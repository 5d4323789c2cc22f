from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dagr.catalog import hooks
from dagr.catalog.schema import compile_validator, extract_identifiers, parse_schema
from dagr.core.actors import SYSTEM
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.core.identifiers import make_company_code, make_old_personal_code
from dagr.records import loading, selectors, services
from dagr.records.models import Change, Load, Record, RecordIdentifier, RecordVersion
from tests.factories import make_user
from tests.records.factories import COMPANY_SCHEMA, make_dataset

pytestmark = pytest.mark.django_db


def company_codes(n: int, start: int = 1) -> list[str]:
    codes, serial = [], start
    while len(codes) < n:
        code = make_company_code(serial)
        serial += 1
        if code:
            codes.append(code)
    return codes


def person(i: int) -> str:
    return make_old_personal_code(date(1960, 1, 1 + i % 28), i % 1000)


def companies(n: int, *, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "registration_number": code,
            "name": f"SIA Uzņēmums {i}",
            "employees": i,
            "address_code": f"{100000000 + i}",
            "board_members": [
                {"personal_code": person(i), "role": "valdes loceklis"},
                {"personal_code": person(i + 1)},
            ],
        }
        for i, code in enumerate(company_codes(n, start), start=start)
    ]


def test_new_records_are_stored_with_identifiers_changes_and_a_load():
    dataset = make_dataset()
    rows = companies(30)
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows))

    assert (load.status, load.received, load.created, load.updated, load.unchanged) == (
        Load.Status.SUCCEEDED,
        30,
        30,
        0,
        0,
    )
    assert selectors.record_count(dataset) == 30
    assert Change.objects.filter(dataset=dataset, operation="created", load=load).count() == 30
    assert not RecordVersion.objects.filter(record__dataset=dataset).exists()
    # 1 address + 2 board members per record; the key is looked up through Record.key
    assert RecordIdentifier.objects.filter(dataset=dataset).count() == 30 * 3
    assert not RecordIdentifier.objects.filter(dataset=dataset, path="registration_number")


def test_raw_sql_rows_read_back_through_the_orm_as_written():
    dataset = make_dataset()
    rows = companies(25)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    schema = parse_schema(COMPANY_SCHEMA)
    validate = compile_validator(schema)
    stored = {r.key: r for r in Record.objects.filter(dataset=dataset)}
    assert set(stored) == {row["registration_number"] for row in rows}
    for row in rows:
        normalised, _ = validate(row)
        record = stored[row["registration_number"]]
        assert record.data == normalised
        assert record.content_hash == services.content_hash(normalised)
        assert (record.version, record.schema_version, record.deleted_at) == (1, 1, None)
        assert record.created_at.tzinfo is not None and record.created_at == record.updated_at
        identifiers = set(record.identifiers.values_list("path", "value"))
        assert identifiers == {
            (path, value)
            for path, value in extract_identifiers(schema, normalised)
            if path != schema.key
        }
    changes = list(Change.objects.filter(dataset=dataset).order_by("seq"))
    assert [c.record_key for c in changes] == [row["registration_number"] for row in rows]
    assert all(c.record_id == stored[c.record_key].pk and c.version == 1 for c in changes)


def test_nested_identifiers_are_indexed_and_found():
    dataset = make_dataset()
    rows = companies(5)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    shared = rows[2]["board_members"][1]["personal_code"]  # also board member 0 of rows[3]
    found = selectors.record_list_by_identifier(
        dataset=dataset, path="board_members.personal_code", value=shared
    )
    assert [r.key for r in found] == [
        rows[2]["registration_number"],
        rows[3]["registration_number"],
    ]
    by_key = selectors.record_get_by_identifier(
        dataset=dataset, path="registration_number", value=rows[4]["registration_number"]
    )
    assert by_key.data["name"] == rows[4]["name"]
    with pytest.raises(NotFound):
        selectors.record_get_by_identifier(
            dataset=dataset, path="board_members.personal_code", value=person(500)
        )


def test_loading_the_same_data_twice_changes_nothing():
    dataset = make_dataset()
    rows = companies(40)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    changes_before = Change.objects.filter(dataset=dataset).count()
    second = services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 40)
    assert Change.objects.filter(dataset=dataset).count() == changes_before
    assert not RecordVersion.objects.exists()
    assert set(Record.objects.filter(dataset=dataset).values_list("version", flat=True)) == {1}


def test_an_update_keeps_the_previous_version_and_logs_a_change():
    dataset = make_dataset()
    rows = companies(3)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    old_member = rows[1]["board_members"][0]["personal_code"]
    changed = {
        **rows[1],
        "name": "AS Jaunais nosaukums",
        "board_members": [{"personal_code": person(700)}],
    }
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=[changed, rows[0]])

    assert (load.created, load.updated, load.unchanged) == (0, 1, 1)
    record = Record.objects.get(dataset=dataset, key=rows[1]["registration_number"])
    assert record.version == 2 and record.data["name"] == "AS Jaunais nosaukums"
    old = RecordVersion.objects.get(record=record)
    assert old.version == 1 and old.data["name"] == rows[1]["name"] and not old.deleted
    assert old.valid_to == record.updated_at and old.valid_from == record.created_at
    change = Change.objects.get(load=load)
    assert (change.operation, change.version, change.record_key) == ("updated", 2, record.key)
    # identifiers follow the new content
    assert not selectors.record_list_by_identifier(
        dataset=dataset, path="board_members.personal_code", value=old_member
    ).filter(pk=record.pk)
    assert (
        selectors.record_get_by_identifier(
            dataset=dataset, path="board_members.personal_code", value=person(700)
        )
        == record
    )


def test_one_bad_record_among_many_writes_nothing_and_reports_every_error():
    dataset = make_dataset()
    rows = companies(2500)
    rows[9] = {**rows[9], "employees": "many"}
    rows[2399] = {**rows[2399], "registration_number": "40003000000", "colour": "red"}
    rows[2450] = "not an object"  # type: ignore[call-overload]

    with pytest.raises(ValidationError) as caught:
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows))

    error = caught.value
    assert error.code == "invalid_records"
    assert error.extra["invalid"] == 3 and error.extra["received"] == 2500
    found = {(e["position"], e["field"], e["code"]) for e in error.errors}
    assert found == {
        (10, "employees", "integer"),
        (2400, "registration_number", "invalid_identifier"),
        (2400, "colour", "unknown_field"),
        (2451, "", "not_object"),
    }
    assert [e["key"] for e in error.errors if e["position"] == 10] == [
        rows[9]["registration_number"]
    ]
    # nothing of the 2,400 valid records before the error (several batches) stayed
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()
    assert not RecordIdentifier.objects.filter(dataset=dataset).exists()
    failed = Load.objects.get(dataset=dataset)
    assert failed.status == Load.Status.FAILED and failed.invalid == 3
    assert failed.pk == error.extra["load_id"] and len(failed.errors) == 4


def test_delete_soft_deletes_and_a_returning_record_is_created_again():
    dataset = make_dataset()
    rows = companies(4)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    key = rows[0]["registration_number"]
    load = services.records_delete(actor=SYSTEM, dataset=dataset, keys=[key, "40000000000"])
    assert (load.deleted, load.unchanged, load.mode) == (1, 1, Load.Mode.DELETE)

    record = Record.objects.get(dataset=dataset, key=key)
    assert record.deleted_at is not None and record.version == 2
    assert selectors.record_count(dataset) == 3
    assert not record.identifiers.exists()
    with pytest.raises(NotFound):
        selectors.record_get_by_identifier(dataset=dataset, path="registration_number", value=key)
    assert Change.objects.get(load=load).operation == "deleted"

    again = services.records_delete(actor=SYSTEM, dataset=dataset, keys=[key])
    assert (again.deleted, again.unchanged) == (0, 1)

    back = services.records_upsert(actor=SYSTEM, dataset=dataset, records=[rows[0]])
    assert back.created == 1
    record.refresh_from_db()
    assert record.deleted_at is None and record.version == 3
    assert list(record.versions.order_by("version").values_list("version", "deleted")) == [
        (1, False),
        (2, True),
    ]
    assert Change.objects.get(load=back).operation == "created"


def test_snapshot_deletes_what_the_input_no_longer_has():
    dataset = make_dataset()
    rows = companies(2100)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    keep = rows[:1000] + rows[1500:]
    load = services.records_upsert(
        actor=SYSTEM, dataset=dataset, records=keep, mode=Load.Mode.SNAPSHOT
    )
    assert (load.unchanged, load.deleted, load.created) == (1600, 500, 0)
    assert selectors.record_count(dataset) == 1600
    gone = set(
        Record.objects.filter(dataset=dataset, deleted_at__isnull=False).values_list(
            "key", flat=True
        )
    )
    assert gone == {row["registration_number"] for row in rows[1000:1500]}


def test_the_same_key_twice_in_one_input_is_applied_in_order():
    dataset = make_dataset()
    first = companies(1)[0]
    second = {**first, "name": "Otrais"}
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=[first, second])
    assert (load.created, load.updated) == (1, 1)
    assert Record.objects.get(dataset=dataset).data["name"] == "Otrais"


def test_change_list_follows_the_log_in_sequence_order():
    dataset = make_dataset()
    other = make_dataset()
    rows = companies(30)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[:20])
    services.records_upsert(actor=SYSTEM, dataset=other, records=rows[:5])
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[15:])
    seen, after = [], 0
    while page := selectors.change_list(dataset=dataset, after_seq=after, limit=7):
        seen.extend(page)
        after = page[-1].seq
    assert len(seen) == 30 and all(c.dataset_id == dataset.pk for c in seen)
    seqs = [c.seq for c in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == 30


def test_only_the_provider_or_an_administrator_may_load():
    dataset = make_dataset()
    outsider = make_user()
    with pytest.raises(PermissionDenied):
        services.records_upsert(actor=outsider, dataset=dataset, records=companies(1))
    with pytest.raises(PermissionDenied):
        services.records_delete(actor=outsider, dataset=dataset, keys=["x"])
    provider_rep = make_user(institution=dataset.provider, roles=("provider",))
    load = services.records_upsert(actor=provider_rep, dataset=dataset, records=companies(1))
    assert load.created == 1 and load.actor_id == provider_rep.pk


def test_the_catalogue_checker_finds_records_a_new_schema_would_reject():
    dataset = make_dataset()
    rows = companies(6)
    for row in rows[:2]:
        del row["name"]
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    stricter = parse_schema(
        {
            **COMPANY_SCHEMA,
            "fields": [
                {**f, "required": True} if f["name"] == "name" else f
                for f in COMPANY_SCHEMA["fields"]
            ],
        }
    )
    count, examples = hooks.invalid_stored_records(dataset, stricter, limit=1)
    assert count == 2 and len(examples) == 1
    assert examples[0][0] == rows[0]["registration_number"]
    assert examples[0][1][0].field == "name"
    assert hooks.stored_record_count(dataset) == 6


def test_identifier_values_longer_than_the_index_allows_are_rejected():
    schema = {
        "key": "code",
        "fields": [
            {
                "name": "code",
                "title_lv": "Kods",
                "title_en": "Code",
                "type": "string",
                "required": True,
                "identifier": "other",
            },
            {
                "name": "alias",
                "title_lv": "Cits kods",
                "title_en": "Alias",
                "type": "string",
                "identifier": "other",
            },
        ],
    }
    dataset = make_dataset(schema=schema)
    with pytest.raises(ValidationError) as caught:
        services.records_upsert(
            actor=SYSTEM,
            dataset=dataset,
            records=[{"code": "a"}, {"code": "b", "alias": "x" * 256}, {"code": "c" * 300}],
        )
    assert {(e["position"], e["field"], e["code"]) for e in caught.value.errors} == {
        (2, "alias", "too_long"),
        (3, "code", "too_long"),
    }
    assert not Record.objects.filter(dataset=dataset).exists()


def dangling_rows() -> list[tuple[str, int]]:
    """Identifier and change rows whose record is missing or belongs to another dataset, and
    records whose dataset is missing (the record store has no database foreign keys)."""
    from django.db import connection

    checks = {
        "identifier": "SELECT i.id FROM records_recordidentifier i LEFT JOIN records_record r "
        "ON r.id = i.record_id WHERE r.id IS NULL OR r.dataset_id <> i.dataset_id",
        "change": "SELECT c.seq FROM records_change c LEFT JOIN records_record r "
        "ON r.id = c.record_id WHERE r.id IS NULL OR r.dataset_id <> c.dataset_id "
        "OR r.key <> c.record_key",
        "record": "SELECT r.id FROM records_record r LEFT JOIN catalog_dataset d "
        "ON d.id = r.dataset_id WHERE d.id IS NULL",
    }
    found = []
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql)
            found += [(name, row[0]) for row in cursor.fetchall()]
    return found


def test_every_kind_of_load_leaves_no_dangling_rows_and_orm_deletion_cascades():
    dataset, other = make_dataset(), make_dataset()
    rows = companies(60)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[:40])
    services.records_upsert(actor=SYSTEM, dataset=other, records=rows[:10])
    changed = [{**row, "employees": 1} for row in rows[20:60]]  # updates and inserts
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=changed)
    services.records_delete(
        actor=SYSTEM, dataset=dataset, keys=[r["registration_number"] for r in rows[:5]]
    )
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[:3])  # back from deletion
    snapshot = services.records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=rows[30:50],
        mode=Load.Mode.SNAPSHOT,
        confirm_deletions=38,  # 58 live, 20 kept: more than half goes
    )
    assert snapshot.deleted == 38
    assert Change.objects.filter(dataset=dataset).count() > 100
    assert dangling_rows() == []

    Record.objects.filter(dataset=dataset).delete()  # the ORM cascades without constraints
    assert not RecordIdentifier.objects.filter(dataset_id=dataset.pk).exists()
    assert not Change.objects.filter(dataset_id=dataset.pk).exists()
    assert not RecordVersion.objects.filter(record__dataset_id=dataset.pk).exists()
    assert Record.objects.filter(dataset=other).count() == 10
    assert dangling_rows() == []


def test_lookup_by_the_key_field_uses_the_record_key():
    dataset = make_dataset()
    rows = companies(5)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    key = rows[2]["registration_number"]
    assert not RecordIdentifier.objects.filter(dataset=dataset, value=key).exists()
    found = selectors.record_get_by_identifier(
        dataset=dataset, path="registration_number", value=key
    )
    assert found.key == key and found.data["name"] == rows[2]["name"]
    services.records_delete(actor=SYSTEM, dataset=dataset, keys=[key])
    with pytest.raises(NotFound):
        selectors.record_get_by_identifier(dataset=dataset, path="registration_number", value=key)


def test_a_key_repeated_in_a_later_batch_of_a_first_load_updates_the_record(monkeypatch):
    """The first load into an empty dataset inserts without lookups; a key that comes back in a
    later batch is caught by the unique index, the batch is undone and applied as an update."""
    monkeypatch.setattr(loading, "BATCH_SIZE", 10)
    dataset = make_dataset()
    rows = companies(25)
    again = {**rows[3], "name": "SIA Otrreiz"}
    load = services.records_upsert(
        actor=SYSTEM, dataset=dataset, records=[*rows[:22], again, *rows[22:]]
    )
    assert (load.received, load.created, load.updated, load.unchanged) == (26, 25, 1, 0)
    record = Record.objects.get(dataset=dataset, key=rows[3]["registration_number"])
    assert (record.version, record.data["name"]) == (2, "SIA Otrreiz")
    assert RecordVersion.objects.get(record=record).data["name"] == rows[3]["name"]
    ops = list(
        Change.objects.filter(dataset=dataset)
        .order_by("seq")
        .values_list("record_key", "operation")
    )
    assert len(ops) == 26 and ops[22] == (rows[3]["registration_number"], "updated")
    assert Record.objects.filter(dataset=dataset).count() == 25
    assert dangling_rows() == []


# --- records the caller validated already (the connector engine) ---------------------------------


def test_records_validated_with_the_current_schema_load_like_any_other():
    """The connector engine validates each row (to skip or report invalid ones) and passes the
    normalised records with ``validated``: the load stores exactly what a plain load stores."""
    plain, trusted = make_dataset(), make_dataset()
    rows = companies(12)
    compiled = services.compiled_schema(trusted.schema)
    normalised = [compiled.validate(row)[0] for row in rows]
    first = services.records_upsert(actor=SYSTEM, dataset=plain, records=iter(rows))
    second = services.records_upsert(
        actor=SYSTEM, dataset=trusted, records=iter(normalised), validated=compiled
    )

    assert (second.created, second.received) == (first.created, first.received) == (12, 12)

    def stored(dataset: Any) -> list[tuple[str, Any, str]]:
        return list(
            Record.objects.filter(dataset=dataset)
            .order_by("key")
            .values_list("key", "data", "content_hash")
        )

    assert stored(trusted) == stored(plain)
    idents = RecordIdentifier.objects.filter(dataset=trusted).count()
    assert idents == RecordIdentifier.objects.filter(dataset=plain).count() > 0
    assert Change.objects.filter(dataset=trusted).count() == 12


def test_records_validated_with_another_schema_are_validated_again():
    dataset = make_dataset()
    other = services.compiled_schema(make_dataset().schema)  # not this dataset's compiled schema
    rows = companies(3)
    rows[1]["employees"] = "many"
    with pytest.raises(ValidationError) as caught:
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows), validated=other)
    assert caught.value.code == "invalid_records"
    assert not Record.objects.filter(dataset=dataset).exists()


def test_validated_records_still_obey_the_key_length_rule():
    dataset = make_dataset()
    compiled = services.compiled_schema(dataset.schema)
    rows = [compiled.validate(row)[0] for row in companies(2)]
    rows[0]["registration_number"] = "4" * 300
    with pytest.raises(ValidationError) as caught:
        services.records_upsert(
            actor=SYSTEM, dataset=dataset, records=iter(rows), validated=compiled
        )
    assert caught.value.errors[0]["code"] == "too_long"
    assert not Record.objects.filter(dataset=dataset).exists()
