"""Causes of delay are recorded: a history event of their own (``EventKind.DELAY``), and the two
causes the portal sets itself added to an existing database's catalogue (new databases get them
from 0002, which loads ``defaults.configuration`` as it is now)."""

from django.db import migrations, models

from applications.defaults.configuration import reasons_add_missing


def add_delay_reasons(apps, schema_editor):
    reasons_add_missing(apps, ("awaiting_documents", "outside_working_hours"))


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0021_drop_change_announcements"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stageevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("transition", "Stage change"),
                    ("assignment", "Assignment"),
                    ("document", "Document"),
                    ("note", "Note"),
                    ("delay", "Cause of delay"),
                ],
                default="transition",
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(add_delay_reasons, migrations.RunPython.noop),
    ]
