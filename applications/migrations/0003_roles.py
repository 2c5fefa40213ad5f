"""Roles as Django groups with the permissions each needs (PRODUCT.md, "Who uses it"): the groups
and permissions are ``applications.defaults.roles``, which the test suite calls too."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from applications.defaults.roles import roles_assign


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    # create_permissions skips app configs without a models module, which migration stubs lack.
    app_config = apps.get_app_config("applications")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    roles_assign(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0002_default_configuration"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
