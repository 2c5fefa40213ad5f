"""Managers hold the API keys' permissions (``api.defaults``), which the admin asks."""

from django.db import migrations


def grant(apps, schema_editor):
    from api import defaults

    defaults.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("applications", "0003_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
