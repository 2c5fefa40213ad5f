"""Managers keep the canned answers: their permissions, granted by ``reviews.defaults`` (which the
test suite calls too)."""

from django.db import migrations

from reviews import defaults


def grant(apps, schema_editor):
    defaults.manager_permissions_grant(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0006_canned_answers"),
        ("applications", "0003_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
