"""The portal page that gives a recipient representative a ready sync.yaml."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from dagr.accounts.models import Membership
from dagr_agent.sync.config import config_parse
from tests.factories import make_user
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db

URL = "retrieval:sync_config"


def test_access_anonymous_login_and_non_recipient_403(client) -> None:
    world = make_world()
    url = reverse(URL)
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(make_user(institution=world.provider, roles=(Membership.Role.PROVIDER,)))
    assert client.get(url).status_code == 403


def test_config_lists_the_grants_and_parses(client, monkeypatch) -> None:
    world = make_world()
    other = make_world()  # another institution's grant must not appear
    client.force_login(world.recipient_rep)
    response = client.get(reverse(URL))
    assert response.status_code == 200
    page = response.content.decode()
    assert world.dataset.code in page and other.dataset.code not in page
    assert world.connection.client_id in page  # the only recipient system is preselected
    download = client.get(reverse(URL), {"download": world.recipient.pk})
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="sync.yaml"'
    text = download.content.decode()
    data = yaml.safe_load(text)
    assert data["dagr"]["client_id"] == world.connection.client_id
    assert data["dagr"]["client_secret_env"] == "DAGR_CLIENT_SECRET"
    assert "client_secret" not in data["dagr"]
    assert data["datasets"] == [
        {
            "code": world.dataset.code,
            "permission_number": "ATL-1",
            "table": world.dataset.code.replace("-", "_"),
            "page_size": 5000,
        }
    ]
    monkeypatch.setenv("DAGR_CLIENT_SECRET", "x")
    assert config_parse(data).datasets[0].permission_number == "ATL-1"


def test_choosing_among_several_systems_and_the_placeholder(client) -> None:
    from dagr.connections.services import connection_create

    world = make_world()
    second, _ = connection_create(
        actor=world.recipient_rep, institution=world.recipient, name="Otra", kind="recipient"
    )
    client.force_login(world.recipient_rep)
    text = client.get(reverse(URL), {"download": world.recipient.pk}).content.decode()
    assert yaml.safe_load(text)["dagr"]["client_id"] == "REPLACE-WITH-YOUR-CLIENT-ID"
    text = client.get(
        reverse(URL), {"download": world.recipient.pk, "connection": second.pk}
    ).content.decode()
    assert yaml.safe_load(text)["dagr"]["client_id"] == second.client_id


def test_viewer_links_to_it(client) -> None:
    world = make_world()
    client.force_login(world.recipient_rep)
    assert reverse(URL) in client.get(reverse("retrieval:index")).content.decode()
