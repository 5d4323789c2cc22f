from django.apps import AppConfig


class AnonymisationConfig(AppConfig):
    name = "dagr.anonymisation"
    label = "anonymisation"
    verbose_name = "Anonymised test datasets"
