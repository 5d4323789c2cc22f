"""Connector services against our real database: configuration and secrets, hosted runs through
the loading service, the cursor saved with the load, the run claim, schedules, failures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dagr.accounts.models import Membership
from dagr.audit.models import AdminEntry
from dagr.connectors import selectors, services
from dagr.connectors.models import Connector, ConnectorState, Run, RunLogLine
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, NotFound
from dagr.records.models import Load, Record
from tests.factories import make_dataset, make_institution, make_user

from .memory import people

pytestmark = pytest.mark.django_db

SCHEMA: dict[str, Any] = {
    "key": "personal_code",
    "fields": [
        {
            "name": "personal_code",
            "title_lv": "Kods",
            "title_en": "Code",
            "type": "string",
            "required": True,
            "identifier": "other",
        },
        {
            "name": "last_name",
            "title_lv": "Vārds",
            "title_en": "Name",
            "type": "string",
            "required": True,
        },
        {"name": "birth_date", "title_lv": "Dzimis", "title_en": "Born", "type": "date"},
    ],
}
SECRET = "Sup3r-Secret-Pw!"


def config(**extra: Any) -> dict[str, Any]:
    return {
        "source": {"kind": "memory", "options": extra.pop("options", {"count": 30})},
        "mapping": {
            "key": "personal_code",
            "fields": [
                {"field": "personal_code", "column": "code"},
                {"field": "last_name", "column": "name", "transforms": ["trim"]},
                {
                    "field": "birth_date",
                    "column": "born",
                    "transforms": [{"date_format": "%d.%m.%Y"}],
                },
            ],
        },
        **extra,
    }


def incremental(**extra: Any) -> dict[str, Any]:
    return config(mode="incremental", cursor={"column": "seq", "type": "sequence"}, **extra)


@pytest.fixture
def dataset() -> Any:
    return make_dataset(schema=SCHEMA, provider=make_institution())


def live_keys(dataset: Any) -> list[str]:
    return sorted(
        Record.objects.filter(dataset=dataset, deleted_at__isnull=True).values_list(
            "key", flat=True
        )
    )


def test_create_encrypts_secrets_and_audits_without_them(dataset: Any) -> None:
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="Reģistrs",
        config=config(),
        secrets={"password": SECRET},
    )
    connector.refresh_from_db()
    assert SECRET not in connector.secrets_encrypted and connector.secret_names == ["password"]
    assert services.secrets_of(connector) == {"password": SECRET}
    entry = AdminEntry.objects.get(action="connectors.connector.created")
    assert SECRET not in json.dumps(entry.changes) and "password" in json.dumps(entry.changes)
    # leave empty to keep
    services.connector_update(
        actor=SYSTEM, connector=connector, name="R2", config=config(), secrets={"password": ""}
    )
    assert services.secrets_of(connector) == {"password": SECRET}


def test_only_the_providers_representatives_and_admins_manage(dataset: Any) -> None:
    rep = make_user(institution=dataset.provider, roles=(Membership.Role.PROVIDER,))
    other = make_user(institution=make_institution(), roles=(Membership.Role.PROVIDER,))
    connector = services.connector_create(actor=rep, dataset=dataset, name="c", config=config())
    assert list(selectors.connectors_visible(rep)) == [connector]
    assert list(selectors.connectors_visible(other)) == []
    with pytest.raises(NotFound):
        services.run_hosted(actor=other, connector=connector)
    with pytest.raises(NotFound):
        selectors.connector_get(other, connector.pk)


def test_full_hosted_run_loads_through_the_loading_service(dataset: Any) -> None:
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="c", config=config())
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert (run.rows_read, run.created, run.mode) == (30, 30, "snapshot")
    assert len(live_keys(dataset)) == 30
    load = Load.objects.get(dataset=dataset)
    assert load.source == Load.Source.CONNECTOR and load.details["run"] == run.pk
    again = services.run_hosted(actor=SYSTEM, connector=connector)
    assert (again.unchanged, again.created) == (30, 0)
    assert ConnectorState.objects.get(connector=connector).running_run is None


def test_snapshot_safety_refuses_a_mass_deletion(dataset: Any) -> None:
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="c", config=config())
    services.run_hosted(actor=SYSTEM, connector=connector)
    services.connector_update(
        actor=SYSTEM, connector=connector, name="c", config=config(options={"count": 5})
    )
    refused = services.run_hosted(actor=SYSTEM, connector=connector)
    assert (
        refused.status == Run.Status.FAILED
        and refused.error_code == "snapshot_deletions_unconfirmed"
    )
    assert len(live_keys(dataset)) == 30
    confirmed = services.run_hosted(actor=SYSTEM, connector=connector, confirm_deletions=25)
    assert confirmed.status == Run.Status.SUCCEEDED and confirmed.deleted == 25


def test_incremental_failure_keeps_committed_units_and_resumes_exactly(dataset: Any) -> None:
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="c",
        config=incremental(options={"count": 50, "fail_after": 37}, commit_rows=10, batch_size=5),
    )
    failed = services.run_hosted(actor=SYSTEM, connector=connector)
    assert failed.status == Run.Status.FAILED
    assert live_keys(dataset) == [f"P{i:06d}" for i in range(1, 31)]
    state = ConnectorState.objects.get(connector=connector)
    assert state.state["cursor"] == {"type": "integer", "value": 30}
    services.connector_update(
        actor=SYSTEM,
        connector=connector,
        name="c",
        config=incremental(options={"count": 50}, commit_rows=10),
    )
    done = services.run_hosted(actor=SYSTEM, connector=connector)
    assert done.status == Run.Status.SUCCEEDED and done.rows_read == 20 and done.created == 20
    assert live_keys(dataset) == [f"P{i:06d}" for i in range(1, 51)]
    assert ConnectorState.objects.get(connector=connector).state["cursor"]["value"] == 50


def test_deleted_flag_deletes_records(dataset: Any) -> None:
    rows = people(5)
    cfg = incremental(options={"rows": rows}, deletion={"flag_column": "gone"})
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="c", config=cfg)
    services.run_hosted(actor=SYSTEM, connector=connector)
    rows.append({**rows[1], "gone": True, "seq": 6})
    cfg = incremental(options={"rows": rows}, deletion={"flag_column": "gone"})
    services.connector_update(actor=SYSTEM, connector=connector, name="c", config=cfg)
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.SUCCEEDED and run.deleted == 1
    assert "P000002" not in live_keys(dataset)


def test_one_run_at_a_time_and_a_dead_runs_claim_runs_out(dataset: Any, settings: Any) -> None:
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="c", config=config())
    first = services.run_claim(connector=connector, runner="hosted", trigger="manual", actor=SYSTEM)
    with pytest.raises(Conflict):
        services.run_hosted(actor=SYSTEM, connector=connector)
    ConnectorState.objects.filter(connector=connector).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.SUCCEEDED
    first.refresh_from_db()
    assert first.status == Run.Status.FAILED and first.error_code == "abandoned"


def test_failed_run_audits_and_never_shows_the_secret(dataset: Any) -> None:
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="c",
        config=config(options={"count": 10, "fail_after": 3}),
        secrets={"password": SECRET},
    )
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.FAILED
    assert "***" in run.error and SECRET not in run.error
    texts = [line.message + json.dumps(line.row) for line in RunLogLine.objects.filter(run=run)]
    assert texts and not any(SECRET in t for t in texts)
    entry = AdminEntry.objects.get(action="connectors.run.failed")
    assert SECRET not in json.dumps(entry.changes, ensure_ascii=False)
    dry = services.connector_dry_run(actor=SYSTEM, connector=connector, limit=10)
    assert dry.error and SECRET not in dry.error


def test_dry_run_validates_against_the_schema(dataset: Any) -> None:
    rows = people(4)
    rows[2]["name"] = None  # required
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="c", config=config(options={"rows": rows})
    )
    dry = services.connector_dry_run(actor=SYSTEM, connector=connector, limit=3)
    assert len(dry.rows) == 3 and dry.invalid == 1
    assert dry.rows[2].errors[0]["field"] == "last_name" and dry.rows[2].row["code"] == "P000003"
    assert Record.objects.filter(dataset=dataset).count() == 0


def test_schedules_are_due_once(dataset: Any) -> None:
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="c", config=config(schedule="*/5 * * * *")
    )
    assert connector.next_run_at is not None
    later = connector.next_run_at + timedelta(seconds=1)
    assert services.connectors_due(now=later) == [connector.pk]
    assert services.connectors_due(now=later) == []


def test_log_lines_are_pruned(dataset: Any, settings: Any) -> None:
    settings.DAGR_CONNECTOR_LOG_DAYS = 1
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="c", config=config())
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    n = RunLogLine.objects.filter(run=run).count()
    assert n > 0
    assert services.log_lines_prune(now=timezone.now() + timedelta(days=2)) == n


def test_failing_list(dataset: Any) -> None:
    good = services.connector_create(actor=SYSTEM, dataset=dataset, name="a", config=config())
    bad = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="b",
        config=config(options={"count": 5, "fail_after": 1}),
    )
    services.run_hosted(actor=SYSTEM, connector=good)
    services.run_hosted(actor=SYSTEM, connector=bad)
    assert list(selectors.connectors_failing(SYSTEM)) == [bad]
    assert Connector.objects.count() == 2


def test_the_workers_periodic_job_runs_due_connectors(dataset: Any, settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="c", config=config(schedule="0 3 * * *")
    )
    Connector.objects.filter(pk=connector.pk).update(
        next_run_at=timezone.now() - timedelta(minutes=1)
    )
    services.connectors_periodic()
    run = Run.objects.get(connector=connector)
    assert run.trigger == "schedule" and run.status == Run.Status.SUCCEEDED
    connector.refresh_from_db()
    assert connector.next_run_at is not None and connector.next_run_at > timezone.now()


def test_failed_run_notification_gives_the_error_in_each_readers_language(dataset: Any) -> None:
    """The run's error is stored in the worker's language; the notification of each provider
    representative gives it in that person's language (the coded log line of the failure)."""
    from dagr.notifications import dispatch
    from dagr.notifications.models import Notification

    latvian = make_user(institution=dataset.provider, roles=(Membership.Role.PROVIDER,))
    english = make_user(
        institution=dataset.provider, roles=(Membership.Role.PROVIDER,), language="en"
    )
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="lēnais",
        config=config(options={"count": 40, "delay_s": 0.05}, timeout_s=1, batch_size=5),
    )
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.FAILED and run.error_code == "timeout"
    dispatch.dispatch_pending()
    lv = Notification.objects.get(user=latvian, kind="connector_run_failed").body
    en = Notification.objects.get(user=english, kind="connector_run_failed").body
    assert "ilga ilgāk par tās laika ierobežojumu 1 s" in lv and "timeout" not in lv
    assert "took longer than its timeout of 1 s" in en and "ierobežojumu" not in en
