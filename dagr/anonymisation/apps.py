from django.apps import AppConfig


class AnonymisationConfig(AppConfig):
    name = "dagr.anonymisation"
    label = "anonymisation"
    verbose_name = "Anonymised test datasets"

    def ready(self) -> None:
        # in ready(): apps.py is imported before the models are, so what needs them is imported here
        from dagr.catalog import hooks

        from .selectors import test_dataset_ids

        # Test datasets are public, though sandbox: the catalogue shows them and sandbox grants
        # on them work through the normal data API.
        hooks.register_open_sandbox(test_dataset_ids)
