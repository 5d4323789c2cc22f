from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dagr.audit"
    label = "audit"
    verbose_name = "Audit"
