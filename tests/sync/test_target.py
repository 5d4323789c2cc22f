"""The target layer on real SQLite, PostgreSQL and MariaDB databases, with feed pages built
here: table layout and types, last-change-per-key, deletes, one transaction per page, schema
changes and reloads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from dagr_agent.sync.client import SyncError
from dagr_agent.sync.schema import table_definition
from dagr_agent.sync.target import STATE_TABLE, Target

DATASET: dict[str, Any] = {
    "code": "typed-things",
    "schema": {
        "key": "code",
        "fields": [
            {"name": "code", "type": "string"},
            {"name": "count", "type": "integer"},
            {"name": "amount", "type": "decimal"},
            {"name": "active", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "moment", "type": "datetime"},
            {"name": "hidden", "type": "string"},
            {"name": "members", "type": "list",
             "fields": [{"name": "pc", "type": "string"}, {"name": "salary", "type": "integer"}]},
        ],
    },
}  # fmt: skip
PERMISSION = {
    "dataset": "typed-things",
    "permission_number": "P-1",
    "fields": ["code", "count", "amount", "active", "day", "moment", "members.pc"],
}


def tdef(fields: list[str] | None = None) -> Any:
    permission = dict(PERMISSION, fields=fields or PERMISSION["fields"])
    return table_definition(DATASET, permission, "things")


def created(n: int, key: str, **record: Any) -> dict[str, Any]:
    data = {
        "code": key,
        "count": n,
        "amount": 12.5,
        "active": True,
        "day": "2026-01-02",
        "moment": "2026-11-27T10:00:00+02:00",
        "members": [{"pc": "P-1"}],
        **record,
    }
    return {"id": n, "operation": "created", "key": key, "at": "", "record": data}


def rows(target: Target, definition: Any) -> dict[str, dict[str, Any]]:
    table = target.table(definition)
    with target.engine.connect() as conn:
        return {r.code: dict(r._mapping) for r in conn.execute(sa.select(table))}


def test_table_layout_and_types(target_url: str) -> None:
    target = Target(target_url)
    try:
        definition = tdef()
        assert target.prepare(definition) is None
        columns = {c["name"] for c in sa.inspect(target.engine).get_columns("things")}
        assert columns == {
            "code",
            "count",
            "amount",
            "active",
            "day",
            "moment",
            "members",
            "_dagr_change_id",
            "_dagr_synced_at",
        }  # fmt: skip (no "hidden": not granted)
        target.apply(definition, [created(1, "A", amount=1234567.125)], "cur-1")
        row = rows(target, definition)["A"]
        assert row["count"] == 1
        assert Decimal(row["amount"]) == Decimal("1234567.125")
        assert bool(row["active"]) is True
        assert row["day"] == date(2026, 1, 2)
        moment = row["moment"]
        if moment.tzinfo is None:  # MariaDB, SQLite: UTC without a zone
            moment = moment.replace(tzinfo=UTC)
        assert moment == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
        assert row["members"] == [{"pc": "P-1"}]
        assert row["_dagr_change_id"] == 1
        assert target.cursor("typed-things") == "cur-1"
        assert sa.inspect(target.engine).get_pk_constraint("things")["constrained_columns"] == [
            "code"
        ]
    finally:
        target.close()


def test_page_keeps_the_last_change_per_key_and_applies_deletes(target_url: str) -> None:
    target = Target(target_url)
    try:
        definition = tdef()
        target.prepare(definition)
        target.apply(definition, [created(1, "A"), created(2, "B"), created(3, "C")], "c1")
        page = [
            {"id": 4, "operation": "updated", "key": "A", "at": "",
             "record": created(4, "A", count=40)["record"]},
            {"id": 5, "operation": "deleted", "key": "B", "at": "", "record": None},
            created(6, "D"),
            {"id": 7, "operation": "deleted", "key": "D", "at": "", "record": None},
            created(8, "E"),
            {"id": 9, "operation": "deleted", "key": "E", "at": "", "record": None},
            created(10, "E", count=100),
            {"id": 11, "operation": "deleted", "key": "never-seen", "at": "", "record": None},
        ]  # fmt: skip
        assert target.apply(definition, page, "c2") == len(page)
        got = rows(target, definition)
        assert sorted(got) == ["A", "C", "E"]
        assert got["A"]["count"] == 40 and got["A"]["_dagr_change_id"] == 4
        assert got["E"]["count"] == 100
        assert target.cursor("typed-things") == "c2"
        # the same page again (a crash before the cursor was stored): nothing changes
        target.apply(definition, page, "c2")
        again = rows(target, definition)
        assert {k: v["count"] for k, v in again.items()} == {"A": 40, "C": 3, "E": 100}
    finally:
        target.close()


def test_a_failing_page_leaves_rows_and_cursor_as_they_were(target_url: str) -> None:
    target = Target(target_url)
    try:
        definition = tdef()
        target.prepare(definition)
        target.apply(definition, [created(1, "A"), created(2, "B")], "c1")
        bad = [
            {"id": 3, "operation": "deleted", "key": "A", "at": "", "record": None},
            created(4, "C", day="not a date"),
        ]
        with pytest.raises(ValueError):
            target.apply(definition, bad, "c2")
        assert sorted(rows(target, definition)) == ["A", "B"]
        assert target.cursor("typed-things") == "c1"
    finally:
        target.close()


def test_layout_change_recreates_the_table_and_restarts(target_url: str) -> None:
    target = Target(target_url)
    try:
        definition = tdef()
        target.prepare(definition)
        target.apply(definition, [created(1, "A")], "c1")
        assert target.prepare(definition) == "c1"  # same layout: resume
        narrower = tdef(["code", "count"])
        assert target.prepare(narrower) is None
        columns = {c["name"] for c in sa.inspect(target.engine).get_columns("things")}
        assert columns == {"code", "count", "_dagr_change_id", "_dagr_synced_at"}
        assert rows(target, narrower) == {}
        target.apply(narrower, [created(2, "B")], "c2")
        target.reload(narrower)  # 409 with the same layout: emptied, cursor cleared
        assert rows(target, narrower) == {}
        assert target.cursor("typed-things") is None
    finally:
        target.close()


def test_a_table_not_made_by_the_connector_is_left_alone(target_url: str) -> None:
    target = Target(target_url)
    try:
        with target.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
        with pytest.raises(SyncError, match="not made by dagr sync"):
            target.prepare(tdef())
        assert sa.inspect(target.engine).has_table(STATE_TABLE)
    finally:
        target.close()


def test_missing_key_field_in_grant_is_refused() -> None:
    with pytest.raises(SyncError, match="key field"):
        tdef(["count"])
