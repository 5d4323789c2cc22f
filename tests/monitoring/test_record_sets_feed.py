"""A record set's change feed (``record_set_changes``): the grant's feed narrowed by
membership — records entering and leaving the watch list, the grant's conditions and the set's
own conditions; records outside the set never appear. Real loader, real change log."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.audit.models import AccessEntry
from dagr.core.actors import SYSTEM
from dagr.core.errors import NotFound
from dagr.monitoring import services
from dagr.records.services import records_delete, records_upsert
from dagr.retrieval.changes import CursorOutdated
from dagr.retrieval.services import Caller
from tests.retrieval.factories import company, make_world

from .record_set_helpers import make_set, watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def caller(w) -> Caller:
    return Caller(institution_id=w.recipient.pk, connection_id=w.connection.pk, label="test")


def read(w, record_set, cursor: str | None = None, limit: int = 1000) -> tuple[list, str]:
    out: list[dict[str, Any]] = []
    for _ in range(1000):
        page = services.record_set_changes(
            caller=caller(w), record_set_id=record_set.pk, cursor=cursor, limit=limit
        )
        out.extend(page.changes)
        cursor = page.next_cursor
        if not page.has_more:
            return out, cursor
    raise AssertionError("the feed never ended")


def ops(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["operation"], c["key"]) for c in changes]


def current(changes: list[dict[str, Any]]) -> set[str]:
    """The keys a copy holds after applying ``changes`` in order."""
    keys: set[str] = set()
    for change in changes:
        (keys.discard if change["operation"] == "deleted" else keys.add)(change["key"])
    return keys


def load(w, *records: dict[str, Any]) -> None:
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=list(records))


def test_initial_load_shows_only_watched_records_inside_the_grant(w):
    record_set = make_set(w)
    # 3 watched and visible; 21 watched but inactive (outside the grant); 23 deleted
    watch(w, record_set, "40000000003", "40000000021", "40000000023", "40000000010")
    changes, _cursor = read(w, record_set)
    assert current(changes) == {"40000000003", "40000000010"}
    assert {c["key"] for c in changes} <= {"40000000003", "40000000010", "40000000023"}
    shown = next(c for c in changes if c["key"] == "40000000003")["record"]
    assert "secret_note" not in shown  # the grant's projection


def test_a_watched_identifier_whose_record_appears_later_is_created(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000099")
    changes, cursor = read(w, record_set)
    assert changes == []
    load(w, company(99), company(2, name="Cits"))
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("created", "40000000099")]
    assert changes[0]["record"]["name"] == "SIA Nr 99"
    load(w, company(99, name="Jauns nosaukums"))
    changes, _cursor = read(w, record_set, cursor)
    assert ops(changes) == [("updated", "40000000099")]


def test_identifier_value_changing_away_and_back_and_deletion(w):
    record_set = make_set(w, identifier_field="board_members.personal_code")
    watch(w, record_set, "P-5")
    changes, cursor = read(w, record_set)
    assert ops(changes) == [("created", "40000000005")]
    away = [{"personal_code": "P-OTHER", "role": "valdes loceklis", "salary": 1}]
    load(w, company(5, board_members=away))
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("deleted", "40000000005")] and changes[0]["record"] is None
    load(w, company(5))
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("created", "40000000005")]
    records_delete(actor=SYSTEM, dataset=w.dataset, keys=["40000000005"])
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("deleted", "40000000005")]


def test_leaving_and_entering_the_grants_conditions(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000006", "40000000021")
    _changes, cursor = read(w, record_set)
    load(w, company(6, active=False), company(21))  # 6 leaves the grant, 21 enters it
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("deleted", "40000000006"), ("created", "40000000021")]
    load(w, company(6, employees=3, active=True))  # back to active but too small: still out
    changes, cursor = read(w, record_set, cursor)
    assert changes == []
    load(w, company(6))
    changes, _cursor = read(w, record_set, cursor)
    assert ops(changes) == [("created", "40000000006")]


def test_the_sets_own_conditions(w):
    record_set = make_set(
        w, identifier_field="", conditions=[{"field": "city", "op": "eq", "value": "Rīga"}]
    )
    changes, cursor = read(w, record_set)
    assert current(changes) == {f"4000{n:07d}" for n in range(1, 21, 2)}  # odd: in Rīga
    assert ops(changes)[-1] == ("deleted", "40000000023")
    load(w, company(7, city="Liepāja"), company(8, city="Rīga"), company(9, name="X"))
    changes, _cursor = read(w, record_set, cursor)
    assert ops(changes) == [
        ("deleted", "40000000007"),
        ("created", "40000000008"),
        ("updated", "40000000009"),
    ]


def test_records_outside_the_watch_list_never_appear(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000001")
    _changes, cursor = read(w, record_set)
    for n in range(2, 8):
        load(w, company(n, name=f"Mainīts {n}"))
    records_delete(actor=SYSTEM, dataset=w.dataset, keys=["40000000002"])
    load(w, company(1, employees=99))
    changes, _cursor = read(w, record_set, cursor)
    assert ops(changes) == [("updated", "40000000001")]


def test_adding_a_value_reports_its_record_and_a_narrow_set_pages_through(w):
    record_set = make_set(w)
    _changes, cursor = read(w, record_set)
    watch(w, record_set, "40000000004")  # exists already: created now, cursor stays valid
    changes, cursor = read(w, record_set, cursor)
    assert ops(changes) == [("created", "40000000004")]
    assert changes[0]["record"]["name"] == "SIA Nr 4"
    changes, cursor = read(w, record_set, cursor)
    assert changes == []
    load(w, *[company(n, name=f"V{n}") for n in range(1, 21)])
    changes, _ = read(w, record_set, cursor, limit=1)
    assert ops(changes) == [("updated", "40000000004")]


def test_changed_conditions_outdate_the_cursor_and_other_institutions_get_404(w):
    record_set = make_set(w)
    _changes, cursor = read(w, record_set)
    services.record_set_update(
        actor=w.recipient_rep,
        record_set=record_set,
        conditions=[{"field": "city", "op": "eq", "value": "Rīga"}],
    )
    with pytest.raises(CursorOutdated):
        services.record_set_changes(caller=caller(w), record_set_id=record_set.pk, cursor=cursor)
    with pytest.raises(NotFound) as exc:
        services.record_set_changes(
            caller=Caller(institution_id=w.provider.pk), record_set_id=record_set.pk
        )
    assert exc.value.code == "record_set_not_found"
    other = make_set(w, name="Otrs")
    _c, other_cursor = read(w, other)
    with pytest.raises(CursorOutdated):  # a cursor belongs to its record set
        services.record_set_changes(
            caller=caller(w), record_set_id=record_set.pk, cursor=other_cursor
        )


def test_each_page_is_audited_as_a_record_set_read(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000001")
    read(w, record_set)
    entry = AccessEntry.objects.filter(operation="record_set.changes").get()
    assert entry.records_returned == 1 and entry.institution_id == w.recipient.pk


# --- changes of the watch list are changes of the set ------------------------------------------


def unwatch(w, record_set, *values: str) -> None:
    services.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, remove=list(values)
    )


def test_removing_a_value_deletes_its_record_from_the_copy(w):
    record_set = make_set(w)
    watch(w, record_set, "40000000003", "40000000005")
    changes, cursor = read(w, record_set)
    assert current(changes) == {"40000000003", "40000000005"}
    unwatch(w, record_set, "40000000003")
    later, cursor = read(w, record_set, cursor)
    assert ops(later) == [("deleted", "40000000003")]
    assert current(changes + later) == {"40000000005"}
    # removing a value nobody watched, or one whose record is outside the grant, reports nothing
    watch(w, record_set, "40000000021")  # inactive: outside the grant's conditions
    unwatch(w, record_set, "40000000021", "40000000099")
    assert read(w, record_set, cursor)[0] == []


def test_watch_changes_are_ordered_with_the_log(w):
    """A record watched, changed, unwatched, changed again and watched again, read one change
    at a time: the copy always ends as the set shows the record now (membership is judged with
    today's watch list, so steps the set no longer shows may be left out)."""
    record_set = make_set(w)
    _changes, cursor = read(w, record_set)
    copy: dict[str, Any] = {}

    def follow() -> list[tuple[str, str]]:
        nonlocal cursor
        changes, cursor = read(w, record_set, cursor, limit=1)
        for c in changes:
            if c["operation"] == "deleted":
                copy.pop(c["key"], None)
            else:
                copy[c["key"]] = c["record"]
        return ops(changes)

    watch(w, record_set, "40000000006")
    load(w, company(6, name="Pirmais"))
    unwatch(w, record_set, "40000000006")
    load(w, company(6, name="Otrais"))  # not watched: not reported
    assert follow()[-1:] == [("deleted", "40000000006")]
    assert copy == {}
    watch(w, record_set, "40000000006")
    assert follow() == [("created", "40000000006")]
    assert copy["40000000006"]["name"] == "Otrais"


def test_a_new_set_read_from_no_cursor_replays_the_watched_records_once(w):
    """docs/change-feed.md: from no cursor the log is replayed with today's watch list — each
    watched record from its creation, a value removed before the first read not at all."""
    load(w, company(4, name="Mainīts"))
    record_set = make_set(w)
    watch(w, record_set, "40000000004", "40000000005")
    unwatch(w, record_set, "40000000005")
    changes, _cursor = read(w, record_set)
    assert ops(changes) == [("created", "40000000004"), ("updated", "40000000004")]
