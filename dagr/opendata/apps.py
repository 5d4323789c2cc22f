from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "dagr.opendata"
    label = "opendata"
    verbose_name = "Open data metadata (DCAT-AP)"

    def ready(self) -> None:
        # in ready(): the receivers need the models, which are not loaded when apps.py is imported
        from . import signals

        signals.connect_receivers()
