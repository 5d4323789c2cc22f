"""Keyed audit chains (version 2). Existing entries keep their version 1 (access: unkeyed
SHA-256 chain; administrative: no chain) and are reported as legacy by ``dagr audit verify``;
history is not re-chained."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_subject_hash_bytes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AdminHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_seq", models.PositiveBigIntegerField(default=0)),
                ("last_hash", models.CharField(max_length=64)),
            ],
        ),
        # Existing rows get version 1; new rows are written as version 2.
        migrations.AddField(
            model_name="accessentry",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="accessentry",
            name="version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="adminentry",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="adminentry",
            name="version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="adminentry",
            name="entry_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="adminentry",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="adminentry",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
    ]
