"""The dashboard pages: who sees what, filters, the data tables and their CSV downloads."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from dagr.dashboard.services import rollups_advance
from dagr.monitoring.models import RecordSet

from .conftest import World, now_plus

pytestmark = pytest.mark.django_db

URL = "/statistics/"


@pytest.fixture
def rolled(history: World) -> World:
    rollups_advance(now=now_plus())
    return history


def get(client: Client, user: Any, url: str = URL, **params: Any) -> Any:
    if user is not None:
        client.force_login(user)
    return client.get(url, params)


def csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("path", ["", "datasets/", "recipients/"])
def test_signed_out_visitors_are_sent_to_log_in(client: Client, world: World, path: str) -> None:
    response = client.get(URL + path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("path", ["", "datasets/", "recipients/"])
def test_people_without_a_role_are_refused(client: Client, world: World, path: str) -> None:
    assert get(client, world.outsider, URL + path).status_code == 403


def _total(response: Any) -> int:
    return int(response.context["stats"].total)


def test_each_role_sees_its_own_part(client: Client, rolled: World) -> None:
    assert _total(get(client, rolled.admin)) == 13
    assert _total(get(Client(), rolled.provider_user)) == 9  # persons only
    assert _total(get(Client(), rolled.recipient_user)) == 7  # its own requests
    assert _total(get(Client(), rolled.other_recipient_user)) == 6


def test_filters(client: Client, rolled: World) -> None:
    response = get(client, rolled.admin, dataset="parcels")
    assert _total(response) == 4
    response = get(client, rolled.admin, recipient=str(rolled.recipient.pk), operation="lookup")
    assert _total(response) == 1
    stats = get(client, rolled.admin, period="24h").context["stats"]
    assert stats.total == 13 and stats.grain == "h" and len(stats.series) == 24
    assert stats.failed == 2 and stats.p99 is not None and stats.p99 > 500


def test_a_filter_outside_ones_scope_is_not_found(client: Client, rolled: World) -> None:
    assert get(client, rolled.provider_user, dataset="parcels").status_code == 404
    response = get(Client(), rolled.recipient_user, recipient=str(rolled.other_recipient.pk))
    assert response.status_code == 404
    assert get(Client(), rolled.admin, period="forever").status_code == 422


def test_page_has_svg_charts_tables_and_both_languages(client: Client, rolled: World) -> None:
    html = get(client, rolled.admin).content.decode()
    assert "<svg" in html and "<title id=" in html and "<desc id=" in html
    assert "<script" not in html.split("<main", 1)[1]
    assert 'scope="row"' in html and "parcels" in html
    assert "Statistika: pieprasījumi" in html  # Latvian by default
    assert "Statistics: requests" in client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_csv_is_exactly_the_table(client: Client, rolled: World) -> None:
    response = get(client, rolled.admin, dataset="persons", table="recipients")
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][1:] == ["Pieprasījumi", "Neapkalpoti", "Izsniegtie ieraksti"]
    table = {r[0]: [int(x) for x in r[1:]] for r in rows[1:]}
    assert table == {
        rolled.recipient.name: [7, 1, 25],
        rolled.other_recipient.name: [2, 0, 2],
    }
    series = csv_rows(get(client, rolled.admin, period="1h", table="series"))
    assert len(series) == 61 and sum(int(r[1]) for r in series[1:]) == 13
    assert get(client, rolled.admin, table="nonsense").status_code == 404


def test_csv_is_formula_safe(client: Client, rolled: World) -> None:
    rolled.other_recipient.name = "=HYPERLINK(1)"
    rolled.other_recipient.save(update_fields=["name"])
    rows = csv_rows(get(client, rolled.admin, table="recipients"))
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]


def test_datasets_page_flags_stale_datasets(client: Client, rolled: World) -> None:
    html = get(client, rolled.provider_user, URL + "datasets/").content.decode()
    assert "persons" in html and "parcels" not in html  # only its own
    assert "novecojusi" in html or "nekad" in html  # never loaded: stale
    html = get(Client(), rolled.admin, URL + "datasets/").content.decode()
    assert "parcels" in html


def test_recipients_page(client: Client, rolled: World) -> None:
    RecordSet.objects.none()  # (record sets need a grant; webhooks are covered by monitoring)
    html = get(client, rolled.recipient_user, URL + "recipients/").content.decode()
    assert rolled.recipient.name in html and rolled.other_recipient.name not in html
    assert "recipient system" in html  # its connection, with its last call
    html = get(Client(), rolled.provider_user, URL + "recipients/").content.decode()
    assert rolled.recipient.name in html and rolled.other_recipient.name in html
    assert "recipient system" not in html  # a provider does not see recipients' connections
