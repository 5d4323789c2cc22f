"""PostgreSQL collects no planner statistics for a record's whole JSON document.

The planner estimates a grant's conditions (``data->>'field' …``) with its default
selectivities, not from statistics of the whole ``data`` column (those describe entire
documents, nearly all distinct, and no query compares whole documents). Computing them was
~30 % of the ``ANALYZE`` that follows a large load (measured at 1,000,000 records: 0.57–0.80 s
→ 0.41–0.45 s), time a provider's load waited for. The other columns keep their statistics;
``-1`` restores the default. SQLite keeps no such statistics.
"""

from django.db import migrations


def set_statistics(target: int):  # noqa: ANN201
    def apply(apps, schema_editor) -> None:  # noqa: ANN001 — Django's migration signature
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE records_record ALTER COLUMN data SET STATISTICS {int(target)}"
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0005_load_source_test_data"),
    ]

    operations = [
        migrations.RunPython(set_statistics(0), set_statistics(-1)),
    ]
