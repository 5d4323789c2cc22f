from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "dagr.records"
    label = "records"
    verbose_name = "Records"

    def ready(self) -> None:
        # in ready(): apps.py is imported before the models are, so what needs them is imported here
        from dagr.catalog import hooks

        from . import selectors, services

        hooks.register_record_checker(services.stored_records_check)
        hooks.register_record_counter(selectors.record_count)
