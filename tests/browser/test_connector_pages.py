"""Connector pages in a real browser (axe on each): a provider representative creates a
connector with a secret, tries it (dry run table with a per-record error), runs it through the
worker and reads the run; a running run's page follows the progress by its own script."""

import pytest
from django.core.management import call_command

from dagr.accounts.models import Institution, Membership
from dagr.connectors import services
from dagr.connectors.models import Run
from dagr.connectors.sources import register_source
from dagr.core.actors import SYSTEM
from dagr_agent.connector.engine import RunResult
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.connectors.memory import people, register
from tests.connectors.test_services import SCHEMA
from tests.factories import make_dataset, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Brows3r-Secret!"
CONFIG = """source:
  kind: memory
  options:
    rows:
{rows}
mapping:
  key: personal_code
  fields:
    - {{field: personal_code, column: code}}
    - {{field: last_name, column: name, transforms: [trim]}}
    - {{field: birth_date, column: born, transforms: [{{date_format: "%d.%m.%Y"}}]}}
invalid: skip
"""


@pytest.fixture
def world():
    register_source("memory", register)
    provider = make_institution(kind=Institution.Kind.PROVIDER, name="Reģistru iestāde")
    user = make_user(
        email="conn@example.lv", institution=provider, roles=(Membership.Role.PROVIDER,)
    )
    dataset = make_dataset(provider=provider, code="personas", schema=SCHEMA)
    return user, dataset


def _login(page):
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill("conn@example.lv")
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()


def test_create_try_and_run_a_connector(page, world):
    _user, dataset = world
    rows = people(6)
    rows[2]["born"] = "nav datums"
    listed = "\n".join(
        f"      - {{code: {r['code']}, name: '{r['name']}', born: '{r['born']}', seq: {r['seq']}}}"
        for r in rows
    )
    _login(page)
    page.get_by_role("link", name="Savienotāji").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("link", name="Jauns savienotājs").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("textbox", name="Nosaukums:", exact=True).fill("Personu reģistrs")
    page.get_by_label("Datu kopa").select_option(str(dataset.pk))
    page.get_by_label("Konfigurācija (YAML)").fill(CONFIG.format(rows=listed))
    page.get_by_label("Jauns noslēpums: nosaukums").fill("password")
    page.get_by_label("Jauns noslēpums: vērtība").fill(SECRET)
    page.get_by_role("button", name="Saglabāt").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Personu reģistrs").count() == 1
    assert SECRET not in page.content()
    assert_accessible(page)

    page.get_by_role("button", name="Izmēģinājums").click()
    page.wait_for_load_state()
    assert page.get_by_role("table").count() == 1
    assert "birth_date" in page.locator("tr.row-error").inner_text()
    assert_accessible(page)

    page.go_back()
    page.get_by_role("button", name="Palaist tagad").click()
    page.wait_for_load_state()
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    page.reload()
    page.get_by_role("link", name="#").first.click()
    page.wait_for_load_state()
    assert page.locator("#run-status").inner_text() == "izdevās"
    assert page.locator("[data-count=created]").inner_text() == "5"
    assert page.locator("tr.log-error").count() == 1  # the invalid row, with its source row
    assert SECRET not in page.content()
    assert_accessible(page)


def test_a_running_runs_page_follows_its_progress(page, world):
    _user, dataset = world
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="Dzīvais",
        config={
            "source": {"kind": "memory", "options": {"count": 3}},
            "mapping": {
                "key": "personal_code",
                "fields": [{"field": "personal_code", "column": "code"}],
            },
        },
    )
    run = services.run_claim(connector=connector, runner="remote", trigger="remote", actor=SYSTEM)
    _login(page)
    page.goto(f"/connectors/{connector.pk}/runs/{run.pk}/")
    assert page.locator("#run-status").inner_text() == "notiek"
    assert page.get_by_role("link", name="Atsvaidzināt").count() == 1  # works without JavaScript
    assert_accessible(page)
    services.remote_run_report(
        run=run,
        lines=[{"level": "info", "message": "otrā partija"}],
        counts={"rows_read": 7, "created": 7},
    )
    page.get_by_text("otrā partija").wait_for(timeout=15_000)
    assert page.locator("[data-count=rows_read]").inner_text() == "7"
    result = RunResult(rows_read=9, created=9)
    services.run_finish(run=run, result=result)
    page.locator("#run-status").get_by_text("izdevās").wait_for(timeout=15_000)
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


def test_accept_a_proposal_then_delete_the_connector(page, world):
    from django.utils import timezone

    _user, dataset = world
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="Piedāvātājs",
        config={
            "source": {"kind": "memory", "options": {"count": 3}},
            "mapping": {
                "key": "personal_code",
                "fields": [{"field": "personal_code", "column": "code"}],
            },
            "columns": {"code": "string"},
        },
    )
    run = Run.objects.create(
        connector=connector,
        runner="hosted",
        status=Run.Status.SUCCEEDED,
        started_at=timezone.now(),
        drift=[{"kind": "new", "column": "epasts", "expected": None, "found": "string"}],
        proposal=[{"name": "epasts", "type": "string", "column": "epasts"}],
    )
    _login(page)
    page.goto(f"/connectors/{connector.pk}/runs/{run.pk}/")
    page.get_by_role("link", name="Pārskatīt un pieņemt").click()
    page.wait_for_load_state()
    assert page.get_by_label("epasts", exact=False).is_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Pieņemt izvēlētos laukus").click()
    page.wait_for_load_state()
    dataset.refresh_from_db()
    assert "epasts" in {f["name"] for f in dataset.schema.definition["fields"]}

    page.goto(f"/connectors/{connector.pk}/")
    page.get_by_role("link", name="Dzēst", exact=True).click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("button", name="Dzēst savienotāju", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/connectors/")
    assert not type(connector).objects.filter(pk=connector.pk).exists()
