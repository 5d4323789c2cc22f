"""Access subjects as 16 raw bytes instead of 64 hex characters (see ``AccessSubject``).

The new value is the first 16 bytes of the same HMAC, so existing entries stay findable:
``bytes.fromhex(old[:32])``."""

from django.db import migrations, models

BATCH = 5000


def convert(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE audit_accesssubject "
                "SET subject_hash = decode(substr(legacy_hash, 1, 32), 'hex')"
            )
            return
        last = 0
        while True:
            cursor.execute(
                "SELECT id, legacy_hash FROM audit_accesssubject WHERE id > %s ORDER BY id LIMIT %s",
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(
                "UPDATE audit_accesssubject SET subject_hash = %s WHERE id = %s",
                [(bytes.fromhex(legacy[:32]), pk) for pk, legacy in rows],
            )
            last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_accessentry_access_grant_at")]

    operations = [
        migrations.RemoveIndex(model_name="accesssubject", name="access_subject_hash"),
        migrations.RenameField(
            model_name="accesssubject", old_name="subject_hash", new_name="legacy_hash"
        ),
        migrations.AddField(
            model_name="accesssubject",
            name="subject_hash",
            field=models.BinaryField(max_length=16, null=True),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
        migrations.RemoveField(model_name="accesssubject", name="legacy_hash"),
        migrations.AlterField(
            model_name="accesssubject",
            name="subject_hash",
            field=models.BinaryField(max_length=16),
        ),
        migrations.AddIndex(
            model_name="accesssubject",
            index=models.Index(fields=["subject_hash"], name="access_subject_hash"),
        ),
    ]
