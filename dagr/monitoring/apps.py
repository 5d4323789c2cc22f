from typing import Any

from django.apps import AppConfig


def _records_changed(sender: Any, dataset_id: int, **kwargs: Any) -> None:
    """After a load of a dataset commits: queue the webhook dispatch of its record sets."""
    # imported on the first signal: apps.py is imported before the models are
    from .deliveries import dispatch_for_dataset

    dispatch_for_dataset(dataset_id)


class MonitoringConfig(AppConfig):
    name = "dagr.monitoring"
    label = "monitoring"
    verbose_name = "Change monitoring"

    def ready(self) -> None:
        # in ready(): apps.py is imported before the models are, so what needs them is imported here
        from dagr.records.signals import records_changed

        records_changed.connect(_records_changed, dispatch_uid="monitoring.webhook_dispatch")

        from dagr.retrieval.recheck import register_condition_source

        from .selectors import relative_date_conditions

        # Record sets' own relative-date conditions take part in the feeds' daily re-check.
        register_condition_source(relative_date_conditions)
