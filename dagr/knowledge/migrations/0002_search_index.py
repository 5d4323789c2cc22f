"""The search index tables, one per language (FTS5 on SQLite, tsvector + GIN on PostgreSQL):
see ``dagr/knowledge/search_index.py``."""

from typing import Any

from django.db import migrations


def create(apps: Any, schema_editor: Any) -> None:
    from dagr.knowledge import search_index

    search_index.create_tables()


def drop(apps: Any, schema_editor: Any) -> None:
    from dagr.knowledge import search_index

    search_index.drop_tables()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
