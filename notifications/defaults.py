"""The notifications' default data: managers may look up and set a person's notification channels
in the admin, and manage dealers' webhooks. Migration 0004 calls ``load`` with its historical registry and the test suite with
the live one after a flush, so it is idempotent."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions

MANAGER_PERMISSIONS = [
    "view_channelpreference",
    "change_channelpreference",
    "add_channelpreference",
    # Dealers' webhooks (notifications.webhooks): endpoints made and edited, the delivery log read
    # and "send again" (a change).
    "view_webhookendpoint",
    "add_webhookendpoint",
    "change_webhookendpoint",
    "view_webhookdelivery",
    "change_webhookdelivery",
]


def load(apps: Apps) -> None:
    manager_permissions_grant(apps)


def manager_permissions_grant(apps: Apps) -> None:
    # Permissions are normally created after all migrations; the manager's group needs them now.
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
