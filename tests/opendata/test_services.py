"""Services: the metadata_changed signal (on commit), permission checks, audit entries."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.accounts.models import Membership
from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, PermissionDenied, ValidationError
from dagr.opendata import services, signals
from dagr.opendata.models import DatasetMetadata
from tests.factories import make_dataset, make_institution, make_user

from .conftest import EU, complete_values

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received() -> Any:
    got: list[int] = []

    def listener(sender: Any, dataset_id: int, **kwargs: Any) -> None:
        got.append(dataset_id)

    signals.metadata_changed.connect(listener, dispatch_uid="test-listener")
    yield got
    signals.metadata_changed.disconnect(dispatch_uid="test-listener")


def test_metadata_changed_is_sent_after_commit(received: list[int]) -> None:
    ds = make_dataset(description_lv="A", description_en="A")
    received.clear()
    from django.db import transaction

    with transaction.atomic():
        services.metadata_update(actor=SYSTEM, dataset=ds, keywords_lv=["a"])
        assert received == []  # not before the commit
    assert ds.pk in received


def test_saving_the_catalogues_dataset_also_signals(received: list[int]) -> None:
    ds = make_dataset()
    received.clear()
    ds.title_en = "Renamed"
    ds.save()
    assert received == [ds.pk]


def test_provider_of_another_institution_may_not_describe() -> None:
    ds = make_dataset()
    other = make_user(institution=make_institution(), roles=(Membership.Role.PROVIDER,))
    with pytest.raises(PermissionDenied):
        services.metadata_update(actor=other, dataset=ds, keywords_lv=["x"])
    with pytest.raises(PermissionDenied):
        services.template_create(actor=other, institution=ds.provider, name="x")


def test_vocabulary_values_are_checked_and_audit_written() -> None:
    ds = make_dataset(description_lv="A", description_en="A")
    with pytest.raises(ValidationError):
        services.metadata_update(actor=SYSTEM, dataset=ds, themes=["http://example.com/x"])
    services.metadata_update(actor=SYSTEM, dataset=ds, themes=[f"{EU}data-theme/HEAL"])
    entry = AdminEntry.objects.filter(action="opendata.metadata.updated").latest("at")
    assert entry.changes["themes"]["to"] == [f"{EU}data-theme/HEAL"]


def test_publish_refused_with_violations_and_allowed_without() -> None:
    ds = make_dataset(description_lv="", description_en="")
    with pytest.raises(Conflict):
        services.metadata_publish(actor=SYSTEM, dataset=ds)
    ds.description_lv = ds.description_en = "Apraksts"
    ds.save()
    services.metadata_update(actor=SYSTEM, dataset=ds, **complete_values())
    services.metadata_publish(actor=SYSTEM, dataset=ds)
    assert DatasetMetadata.objects.get(dataset=ds).published
    assert AdminEntry.objects.filter(action="opendata.metadata.published").exists()
