from typing import Any

from django.apps import AppConfig


def _metadata_changed(sender: Any, dataset_id: int, **kwargs: Any) -> None:
    """After a dataset's open data metadata changed (sent on commit): queue a re-sync of its
    CKAN package if it is published there."""
    # imported on the first signal: apps.py is imported before the models are
    from .services import resync_on_metadata_change

    resync_on_metadata_change(dataset_id)


class CkanConfig(AppConfig):
    name = "dagr.ckan"
    label = "ckan"
    verbose_name = "Open data portal (CKAN) sync"

    def ready(self) -> None:
        # in ready(): the sending app's signal module is imported once the apps are loaded
        from dagr.opendata.signals import metadata_changed

        metadata_changed.connect(_metadata_changed, dispatch_uid="ckan.resync")
