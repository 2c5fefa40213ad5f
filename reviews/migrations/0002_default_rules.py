"""The default assignment rules, and the manager's permissions on the back office's own models:
the rules and the loader are ``reviews.defaults``, which the test suite calls too."""

from django.db import migrations

from reviews import defaults


def load(apps, schema_editor):
    defaults.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("applications", "0003_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
