"""The change feed: grant semantics (fields, conditions entering and leaving), order and
completeness across pages and loads, cursors, errors, audit. Real databases, real loader."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dagr.audit.access import who_read
from dagr.audit.models import AccessEntry
from dagr.core.actors import SYSTEM
from dagr.grants.fields import project_fields
from dagr.grants.models import Grant
from dagr.records.models import Record
from dagr.records.services import records_delete, records_upsert

from .factories import CONDITIONS, GRANTED_FIELDS, company, make_world, set_grant

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"


@pytest.fixture
def w():
    return make_world()


def feed(client, w, cursor: str | None = None, limit: int = 1000, **extra: str) -> Any:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    return client.get(f"{BASE}/{w.dataset.code}/changes", params, **w.headers(**extra))


def read_all(client, w, cursor: str | None = None, limit: int = 1000) -> tuple[list, str]:
    """Follow the feed to its end: (changes, last cursor)."""
    out: list[dict[str, Any]] = []
    for _ in range(10_000):
        response = feed(client, w, cursor, limit)
        assert response.status_code == 200, response.content
        body = response.json()
        out.extend(body["changes"])
        assert body["next_cursor"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return out, cursor
    raise AssertionError("the feed never ended")


def apply(copy: dict[str, dict], changes: list[dict]) -> None:
    for change in changes:
        if change["operation"] == "deleted":
            assert change["record"] is None
            copy.pop(change["key"], None)
        else:
            copy[change["key"]] = change["record"]


def visible_now(w) -> dict[str, dict]:
    """What the grant shows today, straight from the records table and the condition engine."""
    from dagr.grants.cache import grant_cache

    grant = grant_cache.get(w.recipient.pk, w.dataset.pk, "ATL-1")
    predicate = grant.predicate()
    return {
        r.key: project_fields(r.data, grant.tree)
        for r in Record.objects.filter(dataset=w.dataset, deleted_at__isnull=True)
        if predicate(r.data)
    }


def test_initial_load_replays_the_log_into_what_the_grant_shows(client, w):
    changes, _cursor = read_all(client, w)
    copy: dict[str, dict] = {}
    apply(copy, changes)
    assert copy == visible_now(w)
    assert sorted(copy) == [f"4000{n:07d}" for n in range(1, 21)]
    # 21 (inactive) and 22 (too small) never satisfied the conditions: never mentioned.
    keys = {c["key"] for c in changes}
    assert "40000000021" not in keys and "40000000022" not in keys
    # 23 was visible, then deleted: created, then deleted, in that order.
    ops23 = [c["operation"] for c in changes if c["key"] == "40000000023"]
    assert ops23 == ["created", "deleted"]
    ids = [c["id"] for c in changes]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for change in changes:
        if change["record"] is not None:
            assert "secret_note" not in change["record"]
            assert all("salary" not in m for m in change["record"]["board_members"])
            assert change["at"].endswith("Z")


def test_following_changes_with_grant_semantics(client, w):
    _changes, cursor = read_all(client, w)
    assert feed(client, w, cursor).json() == {
        "changes": [],
        "next_cursor": cursor,
        "has_more": False,
    }

    records_upsert(
        actor=SYSTEM,
        dataset=w.dataset,
        records=[
            company(2, secret_note="only a hidden field changed"),
            company(3, name="SIA Jaunais nosaukums"),
            company(4, active=False),  # leaves the conditions
            company(21, active=True),  # enters the conditions
            company(22, employees=4),  # stays outside
            company(30),  # new
            company(31, employees=1),  # new, outside
        ],
    )
    records_delete(actor=SYSTEM, dataset=w.dataset, keys=["40000000005", "40000000022"])
    changes, cursor2 = read_all(client, w, cursor)
    seen = [(c["key"][-2:], c["operation"]) for c in changes]
    assert seen == [
        ("03", "updated"),
        ("04", "deleted"),
        ("21", "created"),
        ("30", "created"),
        ("05", "deleted"),
    ]
    by_key = {c["key"]: c for c in changes}
    assert by_key["40000000003"]["record"]["name"] == "SIA Jaunais nosaukums"
    assert by_key["40000000004"]["record"] is None
    assert by_key["40000000021"]["record"]["active"] is True
    # Replaying everything from the start still gives the grant's view.
    everything, _ = read_all(client, w)
    copy: dict[str, dict] = {}
    apply(copy, everything)
    assert copy == visible_now(w)
    # A deleted record that comes back is created again.
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(5)])
    changes, _ = read_all(client, w, cursor2)
    assert [(c["key"], c["operation"]) for c in changes] == [("40000000005", "created")]


def test_small_pages_concatenate_to_the_whole_feed(client, w):
    whole, _ = read_all(client, w, limit=1000)
    pieces, _ = read_all(client, w, limit=3)
    assert pieces == whole
    # The same cursor read twice gives the same page (a client that crashed reads it again).
    first = feed(client, w, limit=3).json()
    again = feed(client, w, first["next_cursor"], limit=3).json()
    assert feed(client, w, first["next_cursor"], limit=3).json() == again


def test_random_loads_and_reads_never_lose_or_reorder(client, w):
    rng = random.Random(5)
    copy: dict[str, dict] = {}
    cursor = None
    for _round in range(6):
        batch = []
        for _ in range(12):
            n = rng.randint(1, 40)
            batch.append(
                company(
                    n,
                    active=rng.random() > 0.3,
                    employees=rng.choice([3, 10, 50]),
                    name=f"SIA {rng.randint(1, 5)}",
                    secret_note=str(rng.random()),
                )
            )
        unique = {r["registration_number"]: r for r in batch}
        records_upsert(actor=SYSTEM, dataset=w.dataset, records=list(unique.values()))
        gone = [f"4000{rng.randint(1, 40):07d}" for _ in range(3)]
        records_delete(actor=SYSTEM, dataset=w.dataset, keys=gone)
        changes, cursor = read_all(client, w, cursor, limit=rng.choice([1, 4, 50]))
        apply(copy, changes)
        assert copy == visible_now(w)


def test_cursor_errors(client, w):
    response = feed(client, w, "bm90LWEtY3Vyc29y")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"
    _changes, cursor = read_all(client, w)
    # The grant's terms change: the old cursor no longer describes the recipient's copy.
    set_grant(w.grant, fields=[f for f in GRANTED_FIELDS if f != "city"])
    response = feed(client, w, cursor)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "cursor_outdated"
    set_grant(w.grant, fields=GRANTED_FIELDS, conditions=[CONDITIONS[0]])
    assert feed(client, w, cursor).json()["code"] == "cursor_outdated"
    # Starting again works and shows the new terms (company 22 has too few employees but is
    # active: inside the narrower condition list now).
    changes, _ = read_all(client, w)
    assert "40000000022" in {c["key"] for c in changes}


def test_limits_and_grant_errors(client, w):
    assert feed(client, w, limit=0).status_code == 422
    assert feed(client, w, limit=10001).status_code == 422
    response = client.get(f"{BASE}/{w.dataset.code}/changes", **w.headers(None))
    assert response.status_code == 400
    assert response.json()["code"] == "permission_number_required"
    set_grant(w.grant, status=Grant.Status.REVOKED)
    response = feed(client, w)
    assert response.status_code == 403
    assert response.json()["code"] == "grant_revoked"
    assert "changes" not in response.json()


def test_provider_connection_is_403_and_no_token_is_401(client, w):
    path = f"{BASE}/{w.dataset.code}/changes"
    response = client.get(
        path, HTTP_AUTHORIZATION=f"Bearer {w.tokens['provider']}", HTTP_X_PERMISSION_NUMBER="ATL-1"
    )
    assert response.status_code == 403
    assert client.get(path, HTTP_X_PERMISSION_NUMBER="ATL-1").status_code == 401
    other = make_world()
    response = client.get(f"{BASE}/{other.dataset.code}/changes", **w.headers())
    assert response.status_code == 403
    assert response.json()["code"] == "grant_missing"


def test_every_page_is_audited_with_its_subjects(client, w):
    before = AccessEntry.objects.count()
    first = feed(client, w, limit=5).json()
    entry = AccessEntry.objects.order_by("-id").first()
    assert AccessEntry.objects.count() == before + 1
    assert entry.operation == "record.changes"
    assert entry.records_returned == 5
    assert entry.grant_id == w.grant.pk and entry.outcome == "ok"
    # Board members' personal codes of returned records are findable.
    assert who_read("P-2").filter(pk=entry.pk).exists()
    # A deleted record's key is recorded too (the recipient learnt it is gone).
    rest, _ = read_all(client, w, first["next_cursor"])
    assert any(c["operation"] == "deleted" for c in rest)
    (later,) = who_read("40000000023").filter(operation="record.changes")
    assert later.pk > entry.pk and later.records_returned == len(rest)


@pytest.mark.usefixtures("audit_table_refuses_inserts")
def test_a_failed_audit_write_serves_nothing(client, w):
    response = feed(client, w)
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["code"] == "audit_unavailable"
    assert "changes" not in body
