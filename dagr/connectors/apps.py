from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "dagr.connectors"
    label = "connectors"
    verbose_name = "Provider connectors"
