"""Managers may look up and set a person's notification channels in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER_PERMISSIONS = ["view_channelpreference", "change_channelpreference", "add_channelpreference"]


def grant_manager_permissions(apps, schema_editor=None):
    """Idempotent; the test suite calls it again after a flush (conftest's data loaders)."""
    app_config = apps.get_app_config("notifications")
    if getattr(app_config, "models_module", None) is None:  # a migration stub: create_permissions skips it
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    else:
        create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    manager, _ = Group.objects.get_or_create(name="manager")
    manager.permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename__in=MANAGER_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_deliveries"),
        ("applications", "0003_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(grant_manager_permissions, migrations.RunPython.noop)]
