"""The search terms changed (Latvian verb infinitives lose their ending, see ``terms.stem``):
every article's index entry is written again with the new terms."""

from typing import Any

from django.db import migrations


def reindex(apps: Any, schema_editor: Any) -> None:
    from dagr.knowledge import loading

    for article in apps.get_model("knowledge", "Article").objects.all():
        loading.index(article)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_load_shipped_articles")]

    operations = [migrations.RunPython(reindex, migrations.RunPython.noop, elidable=False)]
