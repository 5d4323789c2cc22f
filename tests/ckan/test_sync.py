"""Publishing to CKAN against the stand-in: create, idempotent re-sync, re-sync after a metadata
change (patch, same resource ids), field errors, retries with backoff, withdrawal, the token
kept out of every log and page, and the SSRF guard."""

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dagr.audit.models import AdminEntry
from dagr.ckan import services
from dagr.ckan.models import PortalConfig, Publication, SyncLogEntry
from dagr.core import crypto
from dagr.core.errors import ValidationError
from dagr.opendata.signals import metadata_changed
from tests.ckan.conftest import TOKEN
from tests.ckan.helpers import make_world

pytestmark = pytest.mark.django_db
TASK = "dagr.ckan.tasks.publication_sync_task"


@pytest.fixture
def w(ckan, monkeypatch):
    return make_world(ckan, monkeypatch)


def publish(w, **kwargs):
    return services.dataset_publish(actor=w.rep, dataset=w.dataset, **kwargs)


def test_publishing_creates_the_package_and_its_resources(
    w, ckan, django_capture_on_commit_callbacks
):
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(w)
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 1  # queued for the worker
    assert publication.status == "pending" and publication.package_name == "companies"
    assert w.sync() == "created"
    [package] = ckan.packages.values()
    assert package["name"] == "companies" and package["state"] == "active"
    assert package["owner_org"] == ckan._org("ur")["id"]
    assert package["uri"] == w.iri
    assert package["title_translated"] == {"en": "Companies", "lv": "Uzņēmumi"}
    assert package["license_id"] == "CC-BY-4.0"
    assert sorted(r["uri"] for r in package["resources"]) == [
        w.iri + "distributions/api",
        w.iri + "distributions/csv",
    ]
    publication = w.publication()
    assert publication.status == "published" and publication.package_id == package["id"]
    assert publication.resource_ids == {r["uri"]: r["id"] for r in package["resources"]}
    assert [r.action for r in ckan.requests] == [
        "organization_show",
        "package_show",
        "package_create",
    ]
    assert SyncLogEntry.objects.get().outcome == "created"
    actions = list(AdminEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["ckan.publication.requested", "ckan.package.created"]


def test_a_second_sync_changes_nothing(w, ckan):
    publish(w)
    w.sync()
    package = dict(next(iter(ckan.packages.values())))
    before = len(ckan.requests)
    assert w.sync() == "unchanged"
    new = ckan.requests[before:]
    assert [r.action for r in new] == ["organization_show", "package_show"]  # reads only
    assert ckan.writes()[-1].action == "package_create"
    assert next(iter(ckan.packages.values()))["metadata_modified"] == package["metadata_modified"]
    entry = SyncLogEntry.objects.first()
    assert entry.outcome == "unchanged" and entry.requests == 2
    assert not AdminEntry.objects.filter(action="ckan.package.updated").exists()


def test_a_metadata_change_patches_the_package_and_keeps_resource_ids(
    w, ckan, django_capture_on_commit_callbacks
):
    publish(w)
    w.sync()
    [package] = ckan.packages.values()
    csv_id = next(r["id"] for r in package["resources"] if r["uri"].endswith("/csv"))
    api_id = next(r["id"] for r in package["resources"] if r["uri"].endswith("/api"))
    w.set_graph(title_en="Companies of Latvia", distributions=("csv", "xlsx"))
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        metadata_changed.send(sender=None, dataset_id=w.dataset.pk)
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 1  # the automatic re-sync
    assert w.publication().status == "pending"
    before = len(ckan.requests)
    assert w.sync() == "updated"
    writes = [r for r in ckan.requests[before:] if r.writes]
    assert [r.action for r in writes] == ["package_patch", "resource_create", "resource_delete"]
    patch = writes[0].body
    assert set(patch) == {"id", "title_translated"}  # only what changed
    assert writes[2].body == {"id": api_id}
    [package] = ckan.packages.values()
    assert package["title_translated"]["en"] == "Companies of Latvia"
    resources = {r["uri"].rsplit("/", 1)[1]: r["id"] for r in package["resources"]}
    assert resources["csv"] == csv_id  # updated in place, not recreated
    assert set(resources) == {"csv", "xlsx"}
    assert w.publication().resource_ids == {r["uri"]: r["id"] for r in package["resources"]}
    assert w.sync() == "unchanged"


def test_a_changed_distribution_is_patched_in_place(w, ckan):
    publish(w)
    w.sync()
    [package] = ckan.packages.values()
    csv_id = next(r["id"] for r in package["resources"] if r["uri"].endswith("/csv"))
    w.set_graph(licence="http://publications.europa.eu/resource/authority/licence/CC0")
    before = len(ckan.requests)
    w.sync()
    writes = [r.action for r in ckan.requests[before:] if r.writes]
    assert writes == ["package_patch", "resource_patch", "resource_patch"]
    [package] = ckan.packages.values()
    assert package["license_id"] == "CC0-1.0"
    assert csv_id in {r["id"] for r in package["resources"]}


def test_portal_field_errors_are_kept_for_the_publisher(w, ckan):
    w.set_graph(title_en="")
    publish(w)
    assert w.sync() == "rejected"
    publication = w.publication()
    assert publication.status == "failed"
    assert publication.field_errors == {"title_translated": ['Required language "en" missing']}
    assert ckan.packages == {}
    assert AdminEntry.objects.filter(action="ckan.package.rejected").exists()
    assert len([r for r in ckan.requests if r.action == "package_create"]) == 1  # not retried


def test_a_name_used_by_another_package_is_never_taken_over(w, ckan):
    other = ckan.package_create(
        {
            "name": "companies",
            "owner_org": "ur",
            "title_translated": {"lv": "Cits", "en": "Other"},
            "notes_translated": {"lv": "Cits", "en": "Other"},
            "uri": "https://elsewhere.example/other",
        },
        ckan.tokens[TOKEN],
    )
    publish(w)
    assert w.sync() == "rejected"
    assert w.publication().field_errors == {"name": ["That URL is already in use."]}
    assert ckan.packages[other["id"]]["title"] == "Cits"  # untouched
    publish(w, package_name="companies-ur")
    assert w.sync() == "created"


def test_server_errors_and_timeouts_are_retried_with_growing_pauses(
    w, ckan, django_capture_on_commit_callbacks
):
    publish(w)
    ckan.faults = [503]
    DBTaskResult.objects.all().delete()
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert w.sync() == "retry"
    publication = w.publication()
    assert publication.status == "retrying" and publication.failures == 1
    first_pause = publication.next_attempt_at - start
    assert timedelta(seconds=5) <= first_pause <= timedelta(seconds=7)
    [queued] = DBTaskResult.objects.filter(task_path=TASK)
    assert queued.run_after == publication.next_attempt_at  # the worker waits for it
    ckan.faults = ["ok", "slow"]  # organization_show answers, package_show times out
    ckan.slow_seconds = 2.0
    start = timezone.now()
    assert w.sync() == "retry"
    publication = w.publication()
    assert publication.failures == 2
    assert publication.next_attempt_at - start >= timedelta(seconds=10)
    assert w.sync() == "created"
    publication = w.publication()
    assert publication.status == "published" and publication.failures == 0
    assert list(SyncLogEntry.objects.order_by("at", "pk").values_list("outcome", flat=True)) == [
        "retry",
        "retry",
        "created",
    ]


def test_after_too_many_failures_it_gives_up(w, ckan):
    publish(w)
    Publication.objects.update(failures=services.MAX_FAILURES - 1)
    ckan.faults = [500]
    assert w.sync() == "failed"
    publication = w.publication()
    assert publication.status == "failed" and "gave up" in publication.last_error
    assert AdminEntry.objects.filter(action="ckan.package.sync_failed").exists()


def test_withdrawing_marks_the_package_deleted_and_publishing_restores_it(w, ckan):
    publish(w)
    w.sync()
    [package] = ckan.packages.values()
    services.dataset_unpublish(actor=w.rep, dataset=w.dataset)
    assert w.sync() == "deleted"
    assert ckan.packages[package["id"]]["state"] == "deleted"
    assert ckan.writes()[-1].action == "package_delete"
    assert w.publication().status == "unpublished"
    assert w.sync() == "unchanged"  # already deleted: nothing sent
    assert ckan.writes()[-1].action == "package_delete" and len(ckan.writes()) == 2
    metadata_changed.send(sender=None, dataset_id=w.dataset.pk)
    assert w.publication().status == "unpublished"  # no re-sync of a withdrawn dataset
    publish(w)
    assert w.sync() == "updated"
    assert ckan.packages[package["id"]]["state"] == "active"
    assert len(ckan.packages) == 1
    assert AdminEntry.objects.filter(action="ckan.package.deleted").count() == 1


def test_the_token_is_encrypted_and_in_no_log_entry_or_audit(w, ckan, caplog):
    caplog.set_level(logging.DEBUG)
    config = PortalConfig.objects.get()
    assert TOKEN not in config.token_encrypted and crypto.decrypt(config.token_encrypted) == TOKEN
    publish(w)
    ckan.faults = [500]
    w.sync()
    w.set_graph(title_en="")
    w.sync()
    ckan.tokens.clear()  # the portal now refuses the token
    w.set_graph()
    w.sync()
    assert w.publication().status == "failed"
    texts = [caplog.text]
    texts += [str(e.changes) + e.target_label for e in AdminEntry.objects.all()]
    texts += [e.message + str(e.changes) for e in SyncLogEntry.objects.all()]
    texts += [w.publication().last_error, str(w.publication().field_errors)]
    assert not [t for t in texts if TOKEN in t]


def test_an_empty_token_keeps_the_stored_one(w, ckan):
    before = PortalConfig.objects.get().token_encrypted
    services.portal_config_save(
        actor=w.rep, institution=w.provider, base_url=ckan.url, organization="ur2", token=""
    )
    config = PortalConfig.objects.get()
    assert config.token_encrypted == before and config.organization == "ur2"
    entry = AdminEntry.objects.filter(action="ckan.config.updated").get()
    assert entry.changes == {"organization": ["ur", "ur2"]}


def test_internal_portal_addresses_are_refused(ckan, monkeypatch, settings):
    settings.DAGR_CKAN_ALLOW_PRIVATE = False
    w = make_world(ckan, monkeypatch, configure=False)
    for url in ("https://127.0.0.1", "https://169.254.169.254", "http://data.gov.lv"):
        with pytest.raises(ValidationError) as caught:
            services.portal_config_save(
                actor=w.rep, institution=w.provider, base_url=url, organization="ur", token="t"
            )
        assert caught.value.errors[0]["location"] == "base_url"
    assert not PortalConfig.objects.exists()
    # a setting stored while allowed is refused at sending time once no longer allowed
    settings.DAGR_CKAN_ALLOW_PRIVATE = True
    services.portal_config_save(
        actor=w.rep, institution=w.provider, base_url=ckan.url, organization="ur", token=TOKEN
    )
    publish(w)
    settings.DAGR_CKAN_ALLOW_PRIVATE = False
    assert w.sync() == "failed"
    assert ckan.requests == []
    assert "refused" in w.publication().last_error


def test_publishing_needs_settings_and_a_publishable_description(ckan, monkeypatch):
    w = make_world(ckan, monkeypatch, configure=False)
    with pytest.raises(ValidationError) as caught:
        publish(w)
    assert caught.value.code == "ckan_not_configured"
    services.portal_config_save(
        actor=w.rep, institution=w.provider, base_url=ckan.url, organization="ur", token=TOKEN
    )
    w.publishable = False
    with pytest.raises(ValidationError) as caught:
        publish(w)
    assert caught.value.code == "ckan_not_publishable"
    w.publishable = True
    with pytest.raises(ValidationError):
        publish(w, package_name="Not Valid")
    assert not Publication.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_the_sync(w, ckan):
    publish(w)  # queues the task on commit
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert len(ckan.packages) == 1
    assert Publication.objects.get().status == "published"


def test_a_package_made_by_a_concurrent_run_is_adopted_not_duplicated(w, ckan, monkeypatch):
    """Two runs of one publication (a retry and a metadata change): both look, find nothing,
    and create; the second's 409 on the name leads it to the first one's package."""
    from dagr.ckan import mapping
    from tests.ckan import standin

    publish(w)
    real_show = standin.Standin.package_show
    raced = []

    def show_racing(self, data, user):
        if not raced:  # the other run creates the package right after our look-up
            raced.append(data)
            package, resources = mapping.package_dict(
                w.graph, w.iri, name="companies", owner_org="ur"
            )
            self.package_create({**package, "resources": resources}, user)
            raise standin._not_found()
        return real_show(self, data, user)

    monkeypatch.setattr(standin.Standin, "package_show", show_racing)
    assert w.sync() == "unchanged"  # adopted: the other run already sent the same description
    assert len(ckan.packages) == 1
    [package] = ckan.packages.values()
    assert w.publication().package_id == package["id"]
    assert w.publication().resource_ids == {r["uri"]: r["id"] for r in package["resources"]}
    assert [r.action for r in ckan.writes()] == ["package_create"]  # ours was refused


# --- one run per publication at a time ---------------------------------------------------------


def test_a_second_run_meanwhile_does_nothing_and_the_first_queues_one_more(
    w, ckan, monkeypatch, django_capture_on_commit_callbacks
):
    publish(w)
    pk = w.publication().pk
    meanwhile = []
    real_publish = services._Run.publish

    def publish_while_another_run_starts(self, graph, iri):
        meanwhile.append(services.publication_sync(pk))  # a second run: a retry, another worker
        services.resync_on_metadata_change(w.dataset.pk)  # and a new request to sync
        return real_publish(self, graph, iri)

    monkeypatch.setattr(services._Run, "publish", publish_while_another_run_starts)
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert w.sync() == "created"
    assert meanwhile == ["busy"]
    assert [r.action for r in ckan.writes()] == ["package_create"]
    assert not SyncLogEntry.objects.filter(outcome="busy").exists()
    # the request made meanwhile queued a run, and the first run queued one more (the other
    # found it busy); the claim is released
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 2
    assert w.publication().status == "pending"
    assert w.publication().sync_lease == ""
    monkeypatch.setattr(services._Run, "publish", real_publish)
    assert w.sync() == "unchanged"
    assert w.publication().status == "published"


def test_an_abandoned_claim_is_taken_over_after_it_expires(w, ckan):
    publish(w)
    pk = w.publication().pk
    assert services._claim(pk) is not None  # a run that died without releasing it
    assert w.sync() == "busy" and ckan.requests == []
    Publication.objects.filter(pk=pk).update(sync_lease_until=timezone.now() - timedelta(seconds=1))
    assert w.sync() == "created"
    assert w.publication().sync_lease == ""


def test_an_unexpected_error_releases_the_claim(w, ckan, monkeypatch):
    publish(w)

    def broken(self, graph, iri):
        raise RuntimeError("bug")

    monkeypatch.setattr(services._Run, "publish", broken)
    with pytest.raises(RuntimeError):
        w.sync()
    assert w.publication().sync_lease == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_runs_at_once_on_postgresql_one_works_the_other_is_busy(w, ckan, monkeypatch):
    import threading

    from django.db import connection, connections

    from tests.ckan import standin

    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    publish(w)
    pk = w.publication().pk

    # simultaneous claims: of two at the same instant exactly one wins, every time
    for _ in range(10):
        barrier, tokens = threading.Barrier(2), []

        def claim(barrier=barrier, tokens=tokens):
            try:
                barrier.wait(10)
                tokens.append(services._claim(pk))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert sorted(tokens, key=bool)[0] is None and sum(map(bool, tokens)) == 1
        Publication.objects.filter(pk=pk).update(sync_lease="", sync_lease_until=None)

    # a whole run held in the middle (in the portal's organization_show) while a second starts
    inside, release, results = threading.Event(), threading.Event(), {}
    real_show = standin.Standin.organization_show

    def held_show(self, data, user):
        inside.set()
        assert release.wait(20)
        return real_show(self, data, user)

    monkeypatch.setattr(standin.Standin, "organization_show", held_show)

    def run(name):
        try:
            results[name] = services.publication_sync(pk)
        except Exception as exc:  # reported by the assertions below
            results[name] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert inside.wait(20)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(20)
    release.set()
    first.join(20)
    assert results == {"first": "created", "second": "busy"}
    assert [r.action for r in ckan.writes()] == ["package_create"]
    assert len(ckan.packages) == 1
