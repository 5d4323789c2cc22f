from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "dagr.demo"
    label = "demo"
