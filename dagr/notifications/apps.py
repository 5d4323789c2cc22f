from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "dagr.notifications"
    label = "notifications"
    verbose_name = "Notifications"
