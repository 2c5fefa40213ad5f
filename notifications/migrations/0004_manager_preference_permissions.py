"""Managers may look up and set a person's notification channels in the admin: the permissions and
the loader are ``notifications.defaults``, which the test suite calls too."""

from django.db import migrations

from notifications import defaults


def grant_manager_permissions(apps, schema_editor=None):
    defaults.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_deliveries"),
        ("applications", "0003_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(grant_manager_permissions, migrations.RunPython.noop)]
