"""Settings, requesting, building, publishing, refusing and superseding test data releases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from dagr.anonymisation import engine, services
from dagr.anonymisation.models import Release, TestDataset
from dagr.audit.models import AdminEntry
from dagr.catalog.models import Dataset
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, PermissionDenied, ValidationError
from dagr.records.models import Load, Record
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import decade_settings, persons
from tests.factories import make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def build(world: Any, datasets: list[Any] | None = None, k: int | None = None) -> Release:
    release = services.release_request(actor=world.user, datasets=datasets or [world.dataset], k=k)
    return Release.objects.get(pk=release.pk)  # the immediate backend built it on commit


def live(dataset: Dataset) -> list[dict[str, Any]]:
    return list(
        Record.objects.filter(dataset=dataset, deleted_at__isnull=True).values_list(
            "data", flat=True
        )
    )


def test_published_release_fills_a_sandbox_test_dataset(world):
    services.settings_update(
        actor=world.user, dataset=world.dataset, **decade_settings(world.dataset)
    )
    release = build(world)
    assert release.status == Release.Status.PUBLISHED, release.error
    assert release.report["passed"] is True and release.report["k_required"] == 5
    assert len(release.key_fingerprint) == 16
    link = TestDataset.objects.get(source=world.dataset)
    test = link.target
    assert (test.code, test.status, test.provider_id) == (
        "iedzivotaji-test",
        "sandbox",
        world.provider.pk,
    )
    assert test.title_lv.endswith("(testa dati)") and test.title_en.endswith("(test data)")
    assert test.schema.definition == world.dataset.schema.definition
    assert link.release_id == release.pk
    assert len(live(test)) == 30
    originals = {r["personal_code"] for r in live(world.dataset)}
    assert not originals & {r["personal_code"] for r in live(test)}
    item = release.items.get()
    assert item.records == 30 and default_storage.exists(item.storage_path)
    assert item.storage_path.startswith(f"testdata/{release.number}/")
    load = Load.objects.filter(dataset=test).latest("started_at")
    assert (load.source, load.mode) == ("test_data", "snapshot")
    actions = set(AdminEntry.objects.values_list("action", flat=True))
    assert {
        "anonymisation.settings.changed",
        "anonymisation.release.requested",
        "anonymisation.release.published",
    } <= actions


def test_a_new_release_replaces_the_records_and_supersedes_the_old_one(world):
    first = build(world)
    assert first.status == Release.Status.PUBLISHED, first.error
    test = TestDataset.objects.get(source=world.dataset).target
    before = {r["personal_code"] for r in live(test)}
    records_upsert(actor=SYSTEM, dataset=world.dataset, records=persons(10, start=500))
    second = build(world)
    assert second.status == Release.Status.PUBLISHED, second.error
    first.refresh_from_db()
    assert first.status == Release.Status.SUPERSEDED
    old_output = f"testdata/{first.number}/{world.dataset.code}.ndjson"
    assert not default_storage.exists(old_output)  # the superseded output is not kept
    assert default_storage.exists(second.items.get().storage_path)
    after = live(test)
    assert len(after) == 40  # a snapshot: exactly the new release, nothing of the old left over
    assert not before & {r["personal_code"] for r in after}  # a new key: nothing links
    assert TestDataset.objects.get(source=world.dataset).release_id == second.pk


def test_a_refused_release_publishes_nothing(world):
    first = build(world)
    test = TestDataset.objects.get(source=world.dataset).target
    before = sorted(r["personal_code"] for r in live(test))
    refused = build(world, k=1000)  # more than the 30 records: no class can be that large
    assert refused.status == Release.Status.REFUSED
    assert refused.report["passed"] is False and refused.report["k_required"] == 1000
    assert not refused.items.exclude(storage_path="").exists()  # the output is not kept
    assert sorted(r["personal_code"] for r in live(test)) == before
    first.refresh_from_db()
    assert first.status == Release.Status.PUBLISHED
    assert AdminEntry.objects.filter(action="anonymisation.release.refused").count() == 1


def test_a_refused_first_release_creates_no_test_dataset(world):
    release = build(world, k=1000)
    assert release.status == Release.Status.REFUSED
    assert not TestDataset.objects.exists()
    assert not Dataset.objects.filter(code="iedzivotaji-test").exists()


def test_a_failed_build_leaves_nothing_half_published(world, monkeypatch):
    other = make_dataset(provider=world.provider, code="uznemumi", status="production")
    records_upsert(actor=SYSTEM, dataset=other, records=persons(12, start=200))
    first = build(world, [world.dataset, other])
    assert first.status == Release.Status.PUBLISHED, first.error
    tests = {t.source_id: t.target for t in TestDataset.objects.select_related("target")}
    before = {pk: sorted(r["personal_code"] for r in live(t)) for pk, t in tests.items()}
    real_sink_engine = engine.build_release

    def breaks_in_the_second_dataset(spec: Any, sink: Any, progress: Any = lambda d: None) -> Any:
        def failing_sink(code: str, record: dict[str, Any]) -> None:
            if code == other.code:
                raise RuntimeError("disk full")
            sink(code, record)

        return real_sink_engine(spec, failing_sink, progress)

    monkeypatch.setattr(engine, "build_release", breaks_in_the_second_dataset)
    failed = build(world, [world.dataset, other])
    assert failed.status == Release.Status.FAILED and failed.error
    assert {pk: sorted(r["personal_code"] for r in live(t)) for pk, t in tests.items()} == before
    first.refresh_from_db()
    assert first.status == Release.Status.PUBLISHED


def test_a_failure_while_publishing_rolls_every_dataset_back(world, monkeypatch):
    other = make_dataset(provider=world.provider, code="uznemumi", status="production")
    records_upsert(actor=SYSTEM, dataset=other, records=persons(12, start=200))
    build(world, [world.dataset, other])
    tests = {t.source_id: t.target for t in TestDataset.objects.select_related("target")}
    before = {pk: sorted(r["personal_code"] for r in live(t)) for pk, t in tests.items()}
    real = services._would_delete
    calls = []

    def fails_second(target: Any, path: str) -> int:
        calls.append(target.pk)
        if len(calls) == 2:
            raise RuntimeError("storage gone")
        return real(target, path)

    monkeypatch.setattr(services, "_would_delete", fails_second)
    failed = build(world, [world.dataset, other])
    assert failed.status == Release.Status.FAILED
    assert {pk: sorted(r["personal_code"] for r in live(t)) for pk, t in tests.items()} == before
    assert not failed.items.exclude(storage_path="").exists()


def test_only_one_release_per_dataset_at_a_time(world, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    services.release_request(actor=world.user, datasets=[world.dataset])
    with pytest.raises(Conflict) as raised:
        services.release_request(actor=world.user, datasets=[world.dataset])
    assert raised.value.code == "release_running"


def test_who_may_request_a_release(world):
    other_provider = make_institution(kind="provider")
    foreign = make_dataset(provider=other_provider, code="svesi", status="production")
    with pytest.raises(PermissionDenied):  # one dataset of another provider is enough to refuse
        services.release_request(actor=world.user, datasets=[world.dataset, foreign])
    recipient = make_user(institution=make_institution(kind="recipient"), roles=("recipient",))
    with pytest.raises(PermissionDenied):
        services.release_request(actor=recipient, datasets=[world.dataset])
    admin = make_user(is_portal_admin=True)
    release = services.release_request(actor=admin, datasets=[world.dataset, foreign])
    assert release.items.count() == 2


def test_settings_are_validated_and_only_overrides_stored(world):
    with pytest.raises(ValidationError) as raised:
        services.settings_update(
            actor=world.user,
            dataset=world.dataset,
            rules={
                "personal_code": {"kind": "keep"},
                "last_name": {"kind": "null"},  # required: cannot be left empty
                "nav_tada": {"kind": "null"},
            },
            quasi_identifiers=[{"dataset": world.dataset.code, "path": "nav", "level": "year"}],
            sensitive=[],
            k=1,
        )
    locations = {e["location"] for e in raised.value.errors}
    assert {"personal_code", "last_name", "nav_tada", "quasi_identifiers", "k"} <= locations
    defaults = services.default_rules(services.schema_of(world.dataset))
    stored = services.settings_update(
        actor=world.user,
        dataset=world.dataset,
        rules={"last_name": {"kind": "mask"}, "birth_date": defaults["birth_date"].model_dump()},
        quasi_identifiers=[],
        sensitive=[],
        k=7,
    )
    assert stored.rules == {"last_name": {"kind": "mask", "params": {}}}
    assert services.effective_rules(world.dataset)["last_name"].kind == "mask"


def test_an_abandoned_build_does_not_block_the_next_release(world, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    stuck = services.release_request(actor=world.user, datasets=[world.dataset])
    Release.objects.filter(pk=stuck.pk).update(
        status=Release.Status.RUNNING, started_at=timezone.now() - timedelta(hours=7)
    )
    services.release_request(actor=world.user, datasets=[world.dataset])
    stuck.refresh_from_db()
    assert stuck.status == Release.Status.FAILED and stuck.error
