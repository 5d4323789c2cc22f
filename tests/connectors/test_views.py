"""Connector pages: who sees what (401/403/404), create and edit with secrets never shown again,
the dry run table, a run's page, its progress JSON and the log as CSV."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dagr.accounts.models import Membership
from dagr.connectors import services
from dagr.connectors.models import Connector, Run
from dagr.core.actors import SYSTEM
from tests.factories import make_admin, make_dataset, make_institution, make_user

from .test_services import SCHEMA, SECRET, config

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    provider = make_institution()
    dataset = make_dataset(schema=SCHEMA, provider=provider)
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="Reģistrs",
        config=config(),
        secrets={"password": SECRET},
    )
    return {"dataset": dataset, "rep": rep, "connector": connector}


def test_access(client: Any, world: dict[str, Any]) -> None:
    c = world["connector"]
    assert client.get("/connectors/").status_code == 302  # to the login
    assert client.get(f"/connectors/{c.pk}/").status_code == 302
    recipient = make_user(institution=make_institution(), roles=(Membership.Role.RECIPIENT,))
    client.force_login(recipient)
    assert client.get("/connectors/").status_code == 403
    assert client.get(f"/connectors/{c.pk}/").status_code == 404
    other = make_user(institution=make_institution(), roles=(Membership.Role.PROVIDER,))
    client.force_login(other)
    assert client.get("/connectors/").status_code == 200
    assert client.get(f"/connectors/{c.pk}/").status_code == 404
    assert client.post(f"/connectors/{c.pk}/run/").status_code == 404
    client.force_login(world["rep"])
    page = client.get("/connectors/")
    assert page.status_code == 200 and "Reģistrs" in page.content.decode()


def test_edit_never_shows_the_secret_and_empty_keeps_it(client: Any, world: dict[str, Any]) -> None:
    c = world["connector"]
    client.force_login(world["rep"])
    page = client.get(f"/connectors/{c.pk}/edit/").content.decode()
    assert SECRET not in page and "secret_password" in page
    assert SECRET not in client.get(f"/connectors/{c.pk}/").content.decode()
    answer = client.post(
        f"/connectors/{c.pk}/edit/",
        {
            "name": "Jauns",
            "dataset": world["dataset"].pk,
            "runner": "hosted",
            "enabled": "on",
            "config": yaml.safe_dump(config()),
            "secret_password": "",
            "new_secret_name": "token",
            "new_secret_value": "tok-123456",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    c.refresh_from_db()
    assert c.name == "Jauns" and services.secrets_of(c) == {
        "password": SECRET,
        "token": "tok-123456",
    }


def test_create_shows_config_problems(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["rep"])
    answer = client.post(
        "/connectors/new/",
        {
            "name": "x",
            "dataset": world["dataset"].pk,
            "runner": "hosted",
            "config": "mode: incremental\n",
        },
    )
    assert answer.status_code == 200 and "cursor" in answer.content.decode()
    good = client.post(
        "/connectors/new/",
        {
            "name": "y",
            "dataset": world["dataset"].pk,
            "runner": "hosted",
            "config": yaml.safe_dump(config()),
        },
    )
    assert good.status_code == 302 and Connector.objects.filter(name="y").exists()


def test_dry_run_page_lists_rows_and_errors(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["rep"])
    page = client.post(f"/connectors/{world['connector'].pk}/dry-run/")
    assert page.status_code == 200 and "P000001" in page.content.decode()


def test_run_page_progress_and_csv(client: Any, world: dict[str, Any]) -> None:
    c = world["connector"]
    run = services.run_hosted(actor=SYSTEM, connector=c)
    admin = make_admin()
    client.force_login(admin)
    page = client.get(f"/connectors/{c.pk}/runs/{run.pk}/")
    assert page.status_code == 200 and "Nolasītas 30 rindas" in page.content.decode()  # lv first
    progress = client.get(f"/connectors/{c.pk}/runs/{run.pk}/progress/").json()
    assert progress["finished"] and progress["created"] == 30 and progress["lines"]
    csv = b"".join(
        client.get(f"/connectors/{c.pk}/runs/{run.pk}/log.csv").streaming_content
    ).decode()
    assert "time,level,message,source_row" in csv and "Nolasītas 30 rindas" in csv
    assert Run.objects.count() == 1


def test_failing_connectors_listed_for_admins(client: Any, world: dict[str, Any]) -> None:
    bad = services.connector_create(
        actor=SYSTEM,
        dataset=world["dataset"],
        name="Salūzis",
        config=config(options={"count": 5, "fail_after": 1}),
    )
    services.run_hosted(actor=SYSTEM, connector=bad)
    client.force_login(make_admin())
    page = client.get("/connectors/").content.decode()
    assert "Failing connectors" in page or "Savienotāji ar kļūdām" in page


def test_run_now_queues_a_run_with_the_confirmed_deletions(
    client: Any, world: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    c = world["connector"]
    services.run_hosted(actor=SYSTEM, connector=c)
    services.connector_update(
        actor=SYSTEM, connector=c, name=c.name, config=config(options={"count": 4})
    )
    client.force_login(world["rep"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/connectors/{c.pk}/run/", {"confirm_deletions": "26"})
    assert answer.status_code == 302
    last = Run.objects.filter(connector=c).first()
    assert last is not None and last.status == Run.Status.SUCCEEDED and last.deleted == 26


def proposed_run(connector: Connector) -> Run:
    from django.utils import timezone

    return Run.objects.create(
        connector=connector,
        runner="hosted",
        status=Run.Status.SUCCEEDED,
        started_at=timezone.now(),
        drift=[{"kind": "new", "column": "E-pasts", "expected": None, "found": "string"}],
        proposal=[{"name": "e_pasts", "type": "string", "column": "E-pasts"}],
    )


def test_others_cannot_delete_a_connector_or_accept_its_proposal(
    client: Any, world: dict[str, Any]
) -> None:
    c = world["connector"]
    run = proposed_run(c)
    urls = [f"/connectors/{c.pk}/delete/", f"/connectors/{c.pk}/runs/{run.pk}/proposal/"]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login
    recipient = make_user(institution=make_institution(), roles=(Membership.Role.RECIPIENT,))
    other = make_user(institution=make_institution(), roles=(Membership.Role.PROVIDER,))
    for user in (recipient, other):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404
            assert client.post(url, {"column": "E-pasts"}).status_code == 404
    # a representative of the provider with another role only
    viewer = make_user(institution=c.dataset.provider, roles=(Membership.Role.RECIPIENT,))
    client.force_login(viewer)
    assert client.post(urls[0]).status_code in (403, 404)
    assert client.post(urls[1], {"column": "E-pasts"}).status_code in (403, 404)
    assert Connector.objects.filter(pk=c.pk).exists()
    c.dataset.refresh_from_db()
    assert "e_pasts" not in {f["name"] for f in c.dataset.schema.definition["fields"]}


def test_delete_asks_then_deletes_with_the_history_and_audits(
    client: Any, world: dict[str, Any]
) -> None:
    from dagr.audit.models import AdminEntry

    c = world["connector"]
    proposed_run(c)
    client.force_login(world["rep"])
    page = client.get(f"/connectors/{c.pk}/delete/")
    assert page.status_code == 200 and "Reģistrs" in page.content.decode()
    assert Connector.objects.filter(pk=c.pk).exists()  # a GET deletes nothing
    answer = client.post(f"/connectors/{c.pk}/delete/")
    assert answer.status_code == 302 and answer["Location"] == "/connectors/"
    assert not Connector.objects.filter(pk=c.pk).exists()
    assert not Run.objects.filter(connector_id=c.pk).exists()
    entry = AdminEntry.objects.get(action="connectors.connector.deleted")
    assert entry.institution_id == c.provider_id


def test_accepting_a_proposal_adds_the_field_maps_the_column_and_audits(
    client: Any, world: dict[str, Any]
) -> None:
    from dagr.audit.models import AdminEntry

    c = world["connector"]
    run = proposed_run(c)
    client.force_login(world["rep"])
    shown = client.get(f"/connectors/{c.pk}/runs/{run.pk}/").content.decode()
    assert f"/connectors/{c.pk}/runs/{run.pk}/proposal/" in shown
    page = client.get(f"/connectors/{c.pk}/runs/{run.pk}/proposal/")
    assert page.status_code == 200 and "e_pasts" in page.content.decode()
    answer = client.post(f"/connectors/{c.pk}/runs/{run.pk}/proposal/", {"column": "E-pasts"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    c.refresh_from_db()
    c.dataset.refresh_from_db()
    field = {f["name"]: f for f in c.dataset.schema.definition["fields"]}["e_pasts"]
    assert field["type"] == "string" and not field.get("required")
    assert {"field": "e_pasts", "column": "E-pasts"} in c.config["mapping"]["fields"]
    assert c.config["columns"]["E-pasts"] == "string"
    run.refresh_from_db()
    assert run.proposal[0]["accepted"] is True
    entry = AdminEntry.objects.get(action="connectors.schema_change.accepted")
    assert entry.changes["fields"] == [{"name": "e_pasts", "type": "string"}]
    assert AdminEntry.objects.filter(action="catalog.dataset.schema_changed").exists()
    # accepted once: nothing left to accept
    again = client.post(f"/connectors/{c.pk}/runs/{run.pk}/proposal/", {"column": "E-pasts"})
    assert again.status_code == 200
    assert len([f for f in c.config["mapping"]["fields"] if f["field"] == "e_pasts"]) == 1
