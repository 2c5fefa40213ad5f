"""The roles as Django groups (named by ``accounts.roles.Role``) with the permissions each needs on
the core's models (PRODUCT.md, "Who uses it"). The back office and the notifications grant the
manager their own models' permissions (``reviews.defaults``, ``notifications.defaults``)."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions

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
    "applications.view_partnerstep",
]
CONFIGURE = [
    f"applications.{action}_{model}"
    for model in (
        "stagedefinition",
        "reason",
        "loanproduct",
        "documenttype",
        "dealer",
        "partnersteprequirement",
    )
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
        # Customers' correction requests (PIPL): the task list, and answering each.
        "applications.view_correctionrequest",
        "applications.change_correctionrequest",
        *VIEW_CASES,
        *CONFIGURE,
    ],
}


def roles_assign(apps: Apps) -> None:
    """Create the groups and give each its permissions (idempotent); the permissions must exist."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = {perm.split(".", 1)[1] for perm in perms}
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="applications", codename__in=codenames)
        )


def role_permissions_grant(apps: Apps, *, app_label: str, role: str, codenames: list[str]) -> None:
    """Give ``role``'s group these permissions on ``app_label``'s models (idempotent). The apps above
    the core (the back office, notifications, the API) grant managers their own models' permissions
    with it, from a data migration (historical registry) and from the tests after a flush (live one).

    Permissions are normally created after every migration has run; the group needs them now, so they
    are created here first. In a migration the app's config is a stub without a models module, which
    ``create_permissions`` skips: it is marked as having one for the call."""
    app_config = apps.get_app_config(app_label)
    if getattr(app_config, "models_module", None) is None:
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    else:
        create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )
