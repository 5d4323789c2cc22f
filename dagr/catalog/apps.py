from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "dagr.catalog"
    label = "catalog"
    verbose_name = "Catalogue"
