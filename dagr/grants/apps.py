from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "dagr.grants"
    label = "grants"
    verbose_name = "Access grants"

    def ready(self) -> None:
        # in ready(): apps.py is imported before the models are, so what needs them is imported here
        from dagr.catalog import hooks

        from .services import schema_changed_listener

        # A new schema version may invalidate conditions: reload the grant cache on commit.
        hooks.register_schema_listener(schema_changed_listener)
