"""Roles as Django groups with the permissions each needs (PRODUCT.md, "Who uses it")."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_CASES = [
    "applications.view_loanapplication",
    "applications.view_applicant",
    "applications.view_document",
    "applications.view_stageevent",
    "applications.view_dealer",
    "applications.view_loanproduct",
    "applications.view_reason",
    "applications.view_stagedefinition",
    "applications.view_documenttype",
]
CONFIGURE = [
    f"applications.{action}_{model}"
    for model in ("stagedefinition", "reason", "loanproduct", "documenttype", "dealer")
    for action in ("add", "change", "view")
]

ROLES = {
    "customer": ["applications.act_as_applicant"],
    "dealer": ["applications.submit_for_customer"],
    "reviewer": ["applications.review_application", "applications.change_document", *VIEW_CASES],
    "approver": ["applications.approve_application", *VIEW_CASES],
    "senior_approver": [
        "applications.approve_application",
        "applications.approve_large_application",
        *VIEW_CASES,
    ],
    "operations": ["applications.process_contract", "applications.change_document", *VIEW_CASES],
    "finance": ["applications.disburse_application", *VIEW_CASES],
    "manager": [
        "applications.manage_applications",
        "applications.view_full_pii",
        "applications.view_consent",
        *VIEW_CASES,
        *CONFIGURE,
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    # create_permissions skips app configs without a models module, which migration stubs lack.
    app_config = apps.get_app_config("applications")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    assign_permissions(apps)


def assign_permissions(apps) -> None:
    """Create the groups and give each its permissions; idempotent. The test suite calls it again
    after a flush (with the live registry, where the permissions already exist)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = {perm.split(".", 1)[1] for perm in perms}
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="applications", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0002_default_configuration"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
