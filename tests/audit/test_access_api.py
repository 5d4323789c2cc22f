"""The access-audit API: a provider's systems read who used their datasets; an administrator
answers "who read this person's data". Entries are written with the real audit writer."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.audit.access import access_entry_write, subject_hash
from dagr.audit.models import AccessEntry
from dagr.audit.subjects import unpack
from dagr.connections import services as connection_services
from dagr.connections import tokens
from tests.factories import make_admin, make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/access"
WHO_URL = "/api/v1/audit/who-read"
PERSON = "120389-11236"  # a valid old-format personal code
PERSON_COMPACT = "12038911236"
OTHER_PERSON = "32000001234"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    provider: Institution
    other_provider: Institution
    recipient: Institution
    second_recipient: Institution
    datasets: dict[str, Any]
    provider_token: str
    other_provider_token: str
    recipient_token: str
    recipient_client_id: str
    entries: dict[str, list[AccessEntry]] = field(default_factory=dict)


def _token(institution: Institution, kind: str) -> tuple[str, str]:
    conn, _ = connection_services.connection_create(
        actor=make_admin(), institution=institution, name=f"{kind} system", kind=kind
    )
    tokens.connection_states.invalidate()
    token, _ = tokens.token_encode(
        connection_id=conn.pk,
        client_id=conn.client_id,
        institution_id=institution.pk,
        kind=kind,
        lifetime_s=600,
    )
    return token, conn.client_id


def write(world_conn: dict[str, Any], **kwargs: Any) -> AccessEntry:
    values = {"operation": "get", "outcome": "ok", "records_returned": 1, **world_conn, **kwargs}
    return access_entry_write(**values)


def build_world() -> World:
    provider = make_institution(name="Pilsonības un migrācijas lietu pārvalde", kind="provider")
    other_provider = make_institution(name="Uzņēmumu reģistrs", kind="provider")
    recipient = make_institution(name="Valsts ieņēmumu dienests", kind="recipient")
    second_recipient = make_institution(name="Rīgas valstspilsētas pašvaldība", kind="both")
    datasets = {
        "persons": make_dataset(provider=provider, code="persons", status="production"),
        "addresses": make_dataset(provider=provider, code="person-addresses"),
        "companies": make_dataset(provider=other_provider, code="companies"),
    }
    provider_token, _ = _token(provider, "provider")
    other_provider_token, _ = _token(other_provider, "provider")
    recipient_token, recipient_client_id = _token(recipient, "recipient")
    conn_id = tokens.token_verify(recipient_token).connection_id
    world = World(
        provider=provider,
        other_provider=other_provider,
        recipient=recipient,
        second_recipient=second_recipient,
        datasets=datasets,
        provider_token=provider_token,
        other_provider_token=other_provider_token,
        recipient_token=recipient_token,
        recipient_client_id=recipient_client_id,
    )

    def on(name: str) -> dict[str, Any]:
        ds = datasets[name]
        return {"dataset_id": ds.pk, "dataset_code": ds.code}

    by_system = {
        "institution_id": recipient.pk,
        "connection_id": conn_id,
        "actor_label": recipient_client_id,
        "permission_number": "VID-2026/17",
    }
    by_user = {
        "institution_id": second_recipient.pk,
        "user_id": 4242,
        "actor_label": "Anna Kalniņa",
        "permission_number": "RD-5",
    }
    # 12 lookups of "persons" by the recipient's system, two of them at the very same instant
    # (the keyset must still neither repeat nor skip), three of them for PERSON.
    world.entries["system"] = [
        write(
            {**by_system, **on("persons")},
            identifiers=[PERSON if i in (2, 5, 9) else f"3200000{i:04d}"],
            fields=["personal_code", "last_name"],
            at=T0 + timedelta(minutes=i if i != 7 else 6),
            request_id=f"req-{i}",
            duration_ms=12.5,
        )
        for i in range(12)
    ]
    world.entries["user"] = [
        write(
            {**by_user, **on("persons")},
            operation="view",
            identifiers=[PERSON_COMPACT],
            fields=["last_name"],
            at=T0 + timedelta(days=1),
        ),
        write(
            {**by_user, **on("addresses")},
            operation="search",
            outcome="not_found",
            status_code=404,
            records_returned=0,
            identifiers=[OTHER_PERSON],
            at=T0 + timedelta(days=2),
        ),
    ]
    world.entries["other"] = [
        write(
            {**by_system, **on("companies")},
            identifiers=[PERSON, "40003000000"],
            at=T0 + timedelta(days=3),
        )
    ]
    return world


@pytest.fixture
def world() -> World:
    return build_world()


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def get(client: Any, token: str, url: str = URL, **params: Any) -> Any:
    return client.get(url, params, **bearer(token))


def request_ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["request_id"] for i in items]


# --- who may read --------------------------------------------------------------------------------


def test_without_a_token_is_401(client, world):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] in {"not_authenticated", "invalid_token"}


def test_a_recipient_connection_is_403(client, world):
    response = get(client, world.recipient_token)
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_connection_kind"


def test_another_providers_dataset_is_404_like_a_missing_one(client, world):
    other = get(client, world.provider_token, dataset="companies")
    missing = get(client, world.provider_token, dataset="no-such-dataset")
    garbage = get(client, world.provider_token, dataset="Ä; DROP")
    assert other.status_code == missing.status_code == garbage.status_code == 404
    assert other.json()["code"] == missing.json()["code"] == "dataset_not_found"


def test_a_provider_sees_only_its_own_datasets(client, world):
    response = get(client, world.provider_token, limit=100)
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["dataset"] for i in items} == {"persons", "person-addresses"}
    assert len(items) == 14
    assert response.json()["next_cursor"] is None
    other = get(client, world.other_provider_token).json()["items"]
    assert [i["dataset"] for i in other] == ["companies"]


def test_an_item_names_the_caller_but_never_the_identifier(client, world):
    response = get(client, world.provider_token, dataset="persons", limit=100)
    items = {i["request_id"]: i for i in response.json()["items"]}
    item = items["req-2"]
    assert item["institution"] == {
        "id": world.recipient.pk,
        "name": "Valsts ieņēmumu dienests",
        "registration_number": world.recipient.registration_number,
    }
    assert item["connection_client_id"] == world.recipient_client_id
    assert item["user_label"] is None
    assert item["permission_number"] == "VID-2026/17"
    assert item["operation"] == "get"
    assert (item["identifiers_asked"], item["records_returned"]) == (1, 1)
    assert item["fields"] == ["personal_code", "last_name"]
    assert (item["outcome"], item["status"], item["duration_ms"]) == ("ok", 200, 12.5)
    by_user = next(i for i in response.json()["items"] if i["operation"] == "view")
    assert by_user["user_label"] == "Anna Kalniņa" and by_user["connection_client_id"] is None
    text = response.content.decode()
    assert PERSON not in text and PERSON_COMPACT not in text
    assert subject_hash(PERSON).hex() not in text
    packed = AccessEntry.objects.values_list("subject_hashes", flat=True)
    stored = [h for p in packed for h in unpack(p)]
    assert stored and not any(h.hex() in text for h in stored)
    assert "subject_hashes" not in text


# --- filters -------------------------------------------------------------------------------------


def test_filter_by_identifier_formatted_or_compact(client, world):
    for value in (PERSON, PERSON_COMPACT, " 120389 - 11236 "):
        items = get(client, world.provider_token, identifier=value).json()["items"]
        assert sorted(request_ids(items)) == ["", "req-2", "req-5", "req-9"], value
    # the other provider's entry for the same person is not among them
    assert all(i["dataset"] != "companies" for i in items)


def test_filter_by_recipient_registration_number_or_id(client, world):
    by_number = get(
        client, world.provider_token, recipient=world.second_recipient.registration_number
    )
    by_id = get(client, world.provider_token, recipient=str(world.second_recipient.pk))
    assert by_number.json() == by_id.json()
    assert {i["operation"] for i in by_number.json()["items"]} == {"view", "search"}
    unknown = get(client, world.provider_token, recipient="40003000000")
    assert unknown.status_code == 200 and unknown.json()["items"] == []
    bad = get(client, world.provider_token, recipient="VID")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_recipient"


def test_filter_by_period_operation_and_outcome(client, world):
    since = (T0 + timedelta(minutes=3)).isoformat()
    until = (T0 + timedelta(minutes=8)).isoformat()
    items = get(client, world.provider_token, since=since, until=until).json()["items"]
    # minutes 3, 4, 5, 6, 6 (req-7 shares minute 6); until is exclusive (req-8 is out)
    assert request_ids(items) == ["req-7", "req-6", "req-5", "req-4", "req-3"]
    assert [
        i["operation"]
        for i in get(client, world.provider_token, operation="search").json()["items"]
    ] == ["search"]
    not_found = get(client, world.provider_token, outcome="not_found").json()["items"]
    assert [(i["dataset"], i["status"]) for i in not_found] == [("person-addresses", 404)]
    out_of_range = get(client, world.provider_token, since="1969-12-31T00:00:00+00:00")
    assert out_of_range.status_code == 422 and out_of_range.json()["code"] == "invalid_period"


def test_filter_by_dataset(client, world):
    items = get(client, world.provider_token, dataset="person-addresses").json()["items"]
    assert [i["dataset"] for i in items] == ["person-addresses"]


# --- pages ---------------------------------------------------------------------------------------


def test_pages_follow_the_cursor_without_duplicates_or_gaps(client, world):
    everything = request_ids(
        get(client, world.provider_token, dataset="persons", limit=1000).json()["items"]
    )
    for limit in (1, 2, 5):
        seen, cursor, pages = [], None, 0
        while True:
            params = {
                "dataset": "persons",
                "limit": limit,
                **({"cursor": cursor} if cursor else {}),
            }
            page = get(client, world.provider_token, **params).json()
            assert len(page["items"]) <= limit
            seen += request_ids(page["items"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == everything, limit
        assert pages == -(-len(everything) // limit)
    assert len(everything) == 13 and len(set(everything)) == 13
    # newest first, the two entries of the same instant ordered by id (the later write first)
    assert everything[:1] == [""] and everything.index("req-7") < everything.index("req-6")


def test_a_new_entry_does_not_shift_the_next_page(client, world):
    first = get(client, world.provider_token, dataset="persons", limit=4).json()
    write(
        {"dataset_id": world.datasets["persons"].pk, "dataset_code": "persons"},
        institution_id=world.recipient.pk,
        request_id="late",
    )
    second = get(
        client, world.provider_token, dataset="persons", limit=4, cursor=first["next_cursor"]
    )
    assert "late" not in request_ids(second.json()["items"])
    assert not set(request_ids(first["items"])) & set(request_ids(second.json()["items"]))


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "WyJ4IiwgMV0", "WzEsMiwzXQ"])
def test_a_bad_cursor_is_a_clear_422(client, world, cursor):
    response = get(client, world.provider_token, cursor=cursor)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_cursor"
    assert body["errors"][0]["location"] == "cursor"


def test_limit_is_bounded(client, world):
    assert get(client, world.provider_token, limit=0).status_code == 422
    assert get(client, world.provider_token, limit=1001).status_code == 422


# --- CSV -----------------------------------------------------------------------------------------


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_streams_every_matching_entry(client, world):
    response = get(client, world.provider_token, dataset="persons", format="csv", limit=1)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-persons-')
    rows = _csv(response)
    header, data = rows[0], rows[1:]
    assert header[:4] == ["time", "request_id", "institution", "institution_registration_number"]
    assert "subject" not in ",".join(header)
    assert len(data) == 13  # limit does not apply to the CSV export
    row = dict(zip(header, data[-1], strict=True))
    assert row["request_id"] == "req-0"
    assert row["institution"] == "Valsts ieņēmumu dienests"
    assert row["connection_client_id"] == world.recipient_client_id
    assert row["fields"] == "personal_code last_name"
    assert PERSON not in "".join(",".join(r) for r in rows)


def test_csv_is_safe_against_formula_injection(client, world):
    write(
        {"dataset_id": world.datasets["persons"].pk, "dataset_code": "persons"},
        institution_id=world.second_recipient.pk,
        user_id=1,
        actor_label='=HYPERLINK("http://evil.example","x")',
        permission_number="+1-2",
        purpose="@SUM(A1)",
        request_id="evil",
    )
    response = get(client, world.provider_token, format="csv", identifier="", outcome="ok")
    rows = _csv(response)
    row = dict(zip(rows[0], next(r for r in rows if "evil" in r), strict=True))
    assert row["user"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["permission_number"] == "'+1-2"
    assert row["purpose"] == "'@SUM(A1)"


def test_csv_with_a_bad_cursor_fails_before_streaming(client, world):
    response = get(client, world.provider_token, format="csv", cursor="nonsense")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


# --- who read this person's data (administrators) -------------------------------------------------


def test_who_read_needs_a_session_or_a_token(client, world):
    response = client.get(WHO_URL, {"identifier": PERSON})
    assert response.status_code == 401
    # a provider's bearer token authenticates, but a provider system may not ask
    response = client.get(WHO_URL, {"identifier": PERSON}, **bearer(world.provider_token))
    assert response.status_code == 403 and response.json()["code"] == "admin_only"


def test_who_read_is_for_administrators_only(client, world):
    representative = make_user(institution=world.provider, roles=(Membership.Role.PROVIDER,))
    client.force_login(representative)
    response = client.get(WHO_URL, {"identifier": PERSON})
    assert response.status_code == 403
    assert response.json()["code"] == "admin_only"


@pytest.mark.parametrize("value", [PERSON, PERSON_COMPACT])
def test_who_read_finds_the_person_in_every_dataset(client, world, value):
    client.force_login(make_admin())
    response = client.get(WHO_URL, {"identifier": value})
    assert response.status_code == 200
    body = response.json()
    summary = {(s["institution"]["name"], s["dataset"], s["operation"]): s for s in body["summary"]}
    assert set(summary) == {
        ("Valsts ieņēmumu dienests", "persons", "get"),
        ("Rīgas valstspilsētas pašvaldība", "persons", "view"),
        ("Valsts ieņēmumu dienests", "companies", "get"),
    }
    lookups = summary[("Valsts ieņēmumu dienests", "persons", "get")]
    assert (lookups["accesses"], lookups["served"], lookups["records_returned"]) == (3, 3, 3)
    assert lookups["first_at"].startswith("2026-03-02T09:02")
    assert lookups["last_at"].startswith("2026-03-02T09:09")
    assert [i["dataset"] for i in body["items"]] == [
        "companies",
        "persons",
        "persons",
        "persons",
        "persons",
    ]
    assert body["next_cursor"] is None
    assert value not in response.content.decode()


def test_who_read_pages_and_periods(client, world):
    client.force_login(make_admin())
    first = client.get(WHO_URL, {"identifier": PERSON, "limit": 2}).json()
    second = client.get(
        WHO_URL, {"identifier": PERSON, "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert len(first["items"]) == len(second["items"]) == 2
    assert first["summary"] == second["summary"]
    assert not set(request_ids(first["items"])) & set(request_ids(second["items"]))
    only_day_one = client.get(
        WHO_URL,
        {"identifier": PERSON, "since": "2026-03-03T00:00:00Z", "until": "2026-03-04T00:00:00Z"},
    ).json()
    assert [(s["dataset"], s["operation"]) for s in only_day_one["summary"]] == [
        ("persons", "view")
    ]


def test_who_read_for_an_unknown_or_empty_identifier(client, world):
    client.force_login(make_admin())
    unknown = client.get(WHO_URL, {"identifier": "010101-10009"}).json()
    assert unknown == {"summary": [], "items": [], "next_cursor": None}
    empty = client.get(WHO_URL, {"identifier": " - "})
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_identifier"
    missing = client.get(WHO_URL)
    assert missing.status_code == 422


def test_the_openapi_document_describes_both_operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    access = schema["paths"]["/api/v1/audit/access"]["get"]
    assert set(access["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"401", "403", "404", "422"} <= set(access["responses"])
    assert "/api/v1/audit/who-read" in schema["paths"]


# --- identifiers in a POST body; oversight systems ------------------------------------------------


def test_the_provider_audit_accepts_the_filters_in_a_post_body(client, world):
    by_get = get(client, world.provider_token, identifier=PERSON_COMPACT)
    by_post = client.post(
        URL,
        {"identifier": PERSON, "limit": 100},
        content_type="application/json",
        **bearer(world.provider_token),
    )
    assert by_post.status_code == 200, by_post.content
    assert request_ids(by_post.json()["items"]) == request_ids(by_get.json()["items"])
    assert len(by_post.json()["items"]) == 4  # 3 lookups + the portal view, all on "persons"
    recipient = client.post(
        URL, {"identifier": PERSON}, content_type="application/json",
        **bearer(world.recipient_token),
    )  # fmt: skip
    assert recipient.status_code == 403


def test_who_read_by_post_body_for_a_session_administrator(client, world):
    client.force_login(make_admin())
    response = client.post(WHO_URL, {"identifier": PERSON}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert len(response.json()["items"]) == 5


def test_who_read_with_an_oversight_connection_token(client, world):
    token, _client_id = _token(world.recipient, "oversight")
    by_post = client.post(
        WHO_URL, {"identifier": PERSON}, content_type="application/json", **bearer(token)
    )
    assert by_post.status_code == 200, by_post.content
    assert {s["dataset"] for s in by_post.json()["summary"]} == {"persons", "companies"}
    by_get = client.get(WHO_URL, {"identifier": PERSON_COMPACT}, **bearer(token))
    assert by_get.json()["summary"] == by_post.json()["summary"]
    # the question is itself recorded, naming the connection
    from dagr.audit.models import AdminEntry

    asked = AdminEntry.objects.filter(action="audit.subject.searched").order_by("-pk").first()
    assert asked is not None and "connection" in asked.actor_label


@pytest.mark.parametrize("kind", ["provider", "recipient"])
def test_who_read_refuses_other_connections(client, world, kind):
    token = world.provider_token if kind == "provider" else world.recipient_token
    response = client.post(
        WHO_URL, {"identifier": PERSON}, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "admin_only"


def test_only_administrators_register_oversight_connections(world):
    from dagr.core.errors import PermissionDenied

    signatory = make_user(
        institution=world.recipient,
        roles=(Membership.Role.RECIPIENT, Membership.Role.SIGNATORY),
    )
    with pytest.raises(PermissionDenied):
        connection_services.connection_create(
            actor=signatory, institution=world.recipient, name="Uzraudzība", kind="oversight"
        )
