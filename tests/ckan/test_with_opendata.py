"""The sync with the real DCAT-AP graph of ``dagr.opendata`` (no graph built by the test): the
metadata a provider fills in arrives in CKAN's scheming fields; a metadata change sends
``metadata_changed`` on commit, which queues the re-sync that patches the package."""

import pytest
from django.test import Client
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from dagr.accounts.models import Institution, Membership
from dagr.catalog.services import dataset_set_status
from dagr.ckan import services
from dagr.ckan.models import Publication
from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.opendata import selectors as opendata
from dagr.opendata import services as opendata_services
from tests.ckan.conftest import TOKEN
from tests.factories import make_dataset, make_institution, make_user
from tests.opendata.conftest import complete_values

pytestmark = pytest.mark.django_db
TASK = "dagr.ckan.tasks.publication_sync_task"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_the_opendata_graph_is_published_and_a_metadata_change_resyncs(
    ckan, django_capture_on_commit_callbacks
):
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(
        provider=provider,
        code="iedzivotaji",
        description_lv="Apraksts",
        description_en="Descr",
        status="production",
    )
    opendata_services.metadata_update(actor=rep, dataset=dataset, **complete_values())
    assert opendata.dataset_publishable(dataset)
    opendata_services.metadata_publish(actor=rep, dataset=dataset)
    services.portal_config_save(
        actor=rep, institution=provider, base_url=ckan.url, organization="ur", token=TOKEN
    )
    publication = services.dataset_publish(actor=rep, dataset=dataset)
    outcome = services.publication_sync(publication.pk)
    assert outcome == "created", Publication.objects.get().field_errors
    assert Publication.objects.get().field_errors == {}
    [package] = ckan.packages.values()
    assert package["uri"] == opendata.dataset_iri(dataset)
    assert package["title_translated"]["en"] == dataset.title_en
    assert package["tags_translated"] == {"en": ["population"], "lv": ["iedzīvotāji"]}
    assert package["theme"] == ["http://publications.europa.eu/resource/authority/data-theme/SOCI"]
    assert package["publisher"][0]["name"] == "Paraugu iestāde"
    assert package["contact"][0]["email"] == "dati@iestade.example.lv"
    assert package["resources"] and all(r["uri"] for r in package["resources"])
    ids = {r["uri"]: r["id"] for r in package["resources"]}
    assert services.publication_sync(publication.pk) == "unchanged"

    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        opendata_services.metadata_update(
            actor=rep, dataset=dataset, keywords_en=["population", "residents"]
        )
    assert DBTaskResult.objects.filter(task_path=TASK).exists()  # the automatic re-sync
    before = len(ckan.requests)
    assert services.publication_sync(publication.pk) == "updated"
    writes = [r for r in ckan.requests[before:] if r.writes]
    # the package's keywords, and each distribution's dct:modified (which opendata takes from
    # the metadata's change time): patched in place, nothing created or deleted
    assert writes[0].action == "package_patch"
    assert set(writes[0].body) == {"id", "tags_translated", "modified"} or set(writes[0].body) == {
        "id",
        "tags_translated",
    }
    assert {r.action for r in writes[1:]} <= {"resource_patch"}
    [package] = ckan.packages.values()
    assert package["tags_translated"]["en"] == ["population", "residents"]
    assert {r["uri"]: r["id"] for r in package["resources"]} == ids
    assert Publication.objects.get().status == "published"


def _published(ckan):
    """A dataset in the open data catalogue and in the stand-in (created)."""
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(
        provider=provider,
        code="uznemumi",
        description_lv="Apraksts",
        description_en="Descr",
        status="production",
    )
    opendata_services.metadata_update(actor=rep, dataset=dataset, **complete_values())
    opendata_services.metadata_publish(actor=rep, dataset=dataset)
    services.portal_config_save(
        actor=rep, institution=provider, base_url=ckan.url, organization="ur", token=TOKEN
    )
    publication = services.dataset_publish(actor=rep, dataset=dataset)
    assert services.publication_sync(publication.pk) == "created"
    DBTaskResult.objects.all().delete()
    return rep, dataset, publication


def _queued_sync(publication):
    """The sync the on-commit signal queued, run now (as the worker would)."""
    assert DBTaskResult.objects.filter(task_path=TASK).exists()
    DBTaskResult.objects.all().delete()
    return services.publication_sync(publication.pk)


def test_withdrawing_from_the_open_data_catalogue_marks_the_package_deleted(
    ckan, django_capture_on_commit_callbacks
):
    rep, dataset, publication = _published(ckan)
    with django_capture_on_commit_callbacks(execute=True):
        opendata_services.metadata_unpublish(actor=rep, dataset=dataset)
    assert _queued_sync(publication) == "deleted"
    [package] = ckan.packages.values()
    assert package["state"] == "deleted"
    assert Publication.objects.get().status == "unpublished"
    assert "withdrawn" in Publication.objects.get().log.first().message

    with django_capture_on_commit_callbacks(execute=True):  # back in the catalogue: restored
        opendata_services.metadata_publish(actor=rep, dataset=dataset)
    assert _queued_sync(publication) == "updated"
    [package] = ckan.packages.values()
    assert package["state"] == "active"
    assert Publication.objects.get().status == "published"


def test_retiring_the_dataset_marks_the_package_deleted(ckan, django_capture_on_commit_callbacks):
    rep, dataset, publication = _published(ckan)
    with django_capture_on_commit_callbacks(execute=True):
        dataset_set_status(actor=SYSTEM, dataset=dataset, status="retired")
    assert _queued_sync(publication) == "deleted"
    [package] = ckan.packages.values()
    assert package["state"] == "deleted"
    assert services.publication_sync(publication.pk) == "unchanged"  # stays deleted
    assert [p["state"] for p in ckan.packages.values()] == ["deleted"]
    with pytest.raises(ValidationError) as caught:  # and cannot be published again
        services.dataset_publish(actor=rep, dataset=dataset)
    assert caught.value.code == "ckan_not_publishable"
    # nor is it in the DCAT catalogue a harvester reads
    assert b"uznemumi" not in Client().get("/catalog.ttl").content
