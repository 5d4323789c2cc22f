from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "dagr.connections"
    label = "connections"
    verbose_name = "Technical connections"
