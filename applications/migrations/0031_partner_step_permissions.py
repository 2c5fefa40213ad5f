"""Staff see a file's partner steps on its page, and managers edit which steps each stage needs
(``defaults.roles`` for new databases). Added, not set: the groups also hold other apps' permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["view_partnerstep"]
CONFIGURE = ["add_partnersteprequirement", "change_partnersteprequirement", "view_partnersteprequirement"]
STAFF_ROLES = ["reviewer", "approver", "senior_approver", "operations", "finance", "manager"]


def grant_partner_step_permissions(apps, schema_editor):
    app_config = apps.get_app_config("applications")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="applications", codename__in=VIEW)
    configure = Permission.objects.filter(content_type__app_label="applications", codename__in=CONFIGURE)
    for group in Group.objects.filter(name__in=STAFF_ROLES):
        group.permissions.add(*view)
    for group in Group.objects.filter(name="manager"):
        group.permissions.add(*configure)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0030_walk_in_claims"),
    ]

    operations = [
        migrations.RunPython(grant_partner_step_permissions, migrations.RunPython.noop),
    ]
