"""The framework's validation errors (django-ninja / pydantic) inside our problem+json: in the
request's language (Latvian by default, English with ``Accept-Language: en``), with a stable
per-error ``code`` and the field named as the client wrote it."""

from __future__ import annotations

import pytest

from dagr.core.framework_errors import location
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def lookup(client, w, body, **extra):
    return client.post(
        f"/api/v1/data/{w.dataset.code}/lookup",
        body,
        content_type="application/json",
        **w.headers(),
        **extra,
    )


def test_missing_field_is_named_as_sent_and_latvian_by_default(client, w):
    response = lookup(client, w, {"field": "registration_number"})
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Pieprasījums nav derīgs"
    assert body["errors"] == [
        {"location": "values", "code": "missing", "message": "Šis lauks ir obligāts."}
    ]


def test_english_with_accept_language(client, w):
    response = lookup(client, w, {"field": "registration_number"}, HTTP_ACCEPT_LANGUAGE="en")
    body = response.json()
    assert body["title"] == "The request is not valid"
    assert body["errors"][0]["message"] == "This field is required."


def test_list_positions_in_brackets_and_one_error_per_value(client, w):
    response = lookup(client, w, {"field": "registration_number", "values": ["1", {"a": 1}, None]})
    errors = response.json()["errors"]
    assert [e["location"] for e in errors] == ["values[1]", "values[2]"]
    assert {e["code"] for e in errors} == {"wrong_type"}
    assert errors[0]["message"] == "Vērtībai ir nepareizs tips."


def test_limits_carry_their_numbers(client, w):
    response = client.get(
        f"/api/v1/data/{w.dataset.code}/changes?limit=0",
        **w.headers(),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "location": "limit",
            "code": "greater_than_equal",
            "message": "The value must be at least 1.",
        }
    ]
    response = lookup(client, w, {"field": "registration_number", "values": []})
    (error,) = response.json()["errors"]
    assert error["location"] == "values"
    assert error["message"] == "Elementu skaits nedrīkst būt mazāks par 1."


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "body", "values", 3), "values[3]"),
        (("body", "payload", "conditions", 0, "field"), "conditions[0].field"),
        (("query", "limit"), "limit"),
        (("header", "X-Permission-Number"), "X-Permission-Number"),
        (("body", "body", "values", 1, "str"), "values[1]"),
        (("body", "body"), "body"),
    ],
)
def test_location_as_the_client_wrote_it(loc, expected):
    assert location(loc) == expected
