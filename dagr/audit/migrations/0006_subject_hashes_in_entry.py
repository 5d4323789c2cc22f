"""The access audit's subjects move into the entry's own row (``AccessEntry.subject_hashes``: the
sorted 16-byte hashes concatenated, the same bytes the chain digest has always covered), and
``AccessSubject`` becomes an index derived from it after commit (``dagr.audit.subjects``).

Existing entries get the column filled from their ``AccessSubject`` rows (in batches of entry
ids) and the watermark is set to the highest existing entry: their rows already are the index.
Run it with the web processes of the previous version stopped (they would write entries without
the column, which the database then refuses — the audit fails closed)."""

from django.db import migrations, models

BATCH = 5_000


def fill_subject_hashes(apps, schema_editor):
    connection = schema_editor.connection
    entries = apps.get_model("audit", "AccessEntry")._meta.db_table
    subjects = apps.get_model("audit", "AccessSubject")._meta.db_table
    state = apps.get_model("audit", "AccessSubjectIndex")._meta.db_table
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {entries}")  # noqa: S608
        top = cursor.fetchone()[0]
        low = 0
        while low < top:
            cursor.execute(
                f"SELECT id FROM {entries} WHERE id > %s ORDER BY id LIMIT 1 OFFSET %s",  # noqa: S608
                [low, BATCH - 1],
            )
            last = cursor.fetchone()
            high = last[0] if last else top
            cursor.execute(
                f"SELECT entry_id, subject_hash FROM {subjects} "  # noqa: S608
                "WHERE entry_id > %s AND entry_id <= %s",
                [low, high],
            )
            held: dict[int, list[bytes]] = {}
            for entry_id, subject in cursor.fetchall():
                held.setdefault(entry_id, []).append(bytes(subject))
            if held:
                # Sorted, duplicates kept: exactly the bytes the chain digest was computed over.
                cursor.executemany(
                    f"UPDATE {entries} SET subject_hashes = %s WHERE id = %s",  # noqa: S608
                    [(b"".join(sorted(hashes)), pk) for pk, hashes in held.items()],
                )
            low = high
        cursor.execute(
            f"INSERT INTO {state} (id, indexed_to, updated_at) VALUES (1, %s, %s)",  # noqa: S608
            [top, ops.adapt_datetimefield_value(None)],
        )


def index_the_rest(apps, schema_editor):
    """Back to the old layout: the entries above the watermark get their subject rows before the
    column goes (the old code reads subjects only from those rows)."""
    connection = schema_editor.connection
    entries = apps.get_model("audit", "AccessEntry")._meta.db_table
    subjects = apps.get_model("audit", "AccessSubject")._meta.db_table
    state = apps.get_model("audit", "AccessSubjectIndex")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(indexed_to), 0) FROM {state}")  # noqa: S608
        low = cursor.fetchone()[0]
        while True:
            cursor.execute(
                f"SELECT id, subject_hashes FROM {entries} WHERE id > %s "  # noqa: S608
                "ORDER BY id LIMIT %s",
                [low, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.execute(
                f"DELETE FROM {subjects} WHERE entry_id > %s AND entry_id <= %s",  # noqa: S608
                [low, rows[-1][0]],
            )
            cursor.executemany(
                f"INSERT INTO {subjects} (entry_id, subject_hash) VALUES (%s, %s)",  # noqa: S608
                [
                    (pk, packed[i : i + 16])
                    for pk, packed in ((pk, bytes(p or b"")) for pk, p in rows)
                    for i in range(0, len(packed), 16)
                ],
            )
            low = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_audit_keyed_chains"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessSubjectIndex",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("indexed_to", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="accessentry",
            name="subject_hashes",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.RunPython(fill_subject_hashes, index_the_rest),
    ]
