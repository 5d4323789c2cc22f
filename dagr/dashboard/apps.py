from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dagr.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        # Imported here: the metrics module imports models (apps must be loaded).
        from dagr.audit.access import access_write_failed

        from .metrics import audit_failure

        access_write_failed.connect(audit_failure, dispatch_uid="dashboard.audit_failure")
