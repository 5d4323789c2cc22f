from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "dagr.retrieval"
    label = "retrieval"
    verbose_name = "Record retrieval"

    def ready(self) -> None:
        # in ready(): apps.py is imported before the models are, so what needs them is imported here
        from dagr.catalog import hooks

        from .datasets import schema_changed_listener

        # A new schema version changes the identifier paths and fields: reload on commit.
        hooks.register_schema_listener(schema_changed_listener)
