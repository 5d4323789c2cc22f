from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "dagr.uploads"
    label = "uploads"
    verbose_name = "File uploads"
