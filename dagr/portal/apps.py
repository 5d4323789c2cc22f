from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "dagr.portal"
    label = "portal"
