from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "dagr.permissions"
    label = "permissions"
