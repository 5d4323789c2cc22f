"""``metadata_changed``: sent (after the transaction commits) whenever what a dataset's DCAT-AP
description is built from changes — its open data metadata, or the catalogue's title,
description and status. Keyword argument: ``dataset_id``. Listeners (the CKAN sync) re-read the
graph with ``selectors.dataset_graph``; they are told *that* it changed, not what."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal

metadata_changed = Signal()


def metadata_changed_on_commit(dataset_id: int) -> None:
    """Send ``metadata_changed`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: metadata_changed.send(sender=metadata_changed_on_commit, dataset_id=dataset_id)
    )


def _dataset_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    metadata_changed_on_commit(instance.pk)


def _metadata_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    metadata_changed_on_commit(instance.dataset_id)


def connect_receivers() -> None:
    """Catalogue's datasets (title, description, status) and our own metadata rows: any save."""
    from dagr.catalog.models import Dataset  # AppConfig.ready: models are loaded by now

    from .models import DatasetMetadata

    post_save.connect(_dataset_saved, sender=Dataset, dispatch_uid="opendata.dataset_saved")
    post_save.connect(_metadata_saved, sender=DatasetMetadata, dispatch_uid="opendata.meta_saved")
