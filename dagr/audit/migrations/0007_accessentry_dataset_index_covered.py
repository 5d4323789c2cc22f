"""The single-column index on ``AccessEntry.dataset_id`` is dropped: ``access_dataset_at``
(dataset_id, at) serves every look-up by dataset, and every index is pages that each access
entry writes (one fewer: ~7–11 µs of CPU per entry on SQLite, ``docs/performance.md``).

Only the index is dropped (``DROP INDEX``, the same name on SQLite and PostgreSQL): Django's own
``AlterField`` would rebuild the whole audit table on SQLite."""

from django.db import migrations, models

INDEX = "audit_accessentry_dataset_id_02ab6a2e"


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_subject_hashes_in_entry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON audit_accessentry (dataset_id)",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="accessentry",
                    name="dataset_id",
                    field=models.BigIntegerField(null=True, verbose_name="dataset id"),
                )
            ],
        )
    ]
