from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "dagr.monitoring"
    label = "monitoring"
    verbose_name = "Change monitoring"
