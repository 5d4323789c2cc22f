from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "dagr.records"
    label = "records"
