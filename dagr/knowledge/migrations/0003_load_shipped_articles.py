"""Production gets the shipped help articles with its migrations (``dagr demo`` and
``services.articles_load_shipped`` load them again later: idempotent, portal edits kept).
Uses this migration's historical models, so later model changes do not break it."""

from typing import Any

from django.db import migrations


def load(apps: Any, schema_editor: Any) -> None:
    from dagr.knowledge import loading

    loading.load(apps.get_model("knowledge", "Article"), apps.get_model("knowledge", "ArticleVersion"))


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_index")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop, elidable=False)]
