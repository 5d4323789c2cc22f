from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dagr.core"
    label = "core"
    verbose_name = "DAGR core"
