from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "dagr.oversight"
    label = "oversight"
    verbose_name = "Oversight"
