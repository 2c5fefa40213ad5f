"""The notifications' default data: managers may look up and set a person's notification channels
in the admin, and manage dealers' webhooks. Migration 0004 calls ``load`` with its historical registry and the test suite with
the live one after a flush, so it is idempotent."""

from __future__ import annotations

from django.apps.registry import Apps

from applications.defaults.roles import role_permissions_grant

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
    role_permissions_grant(apps, app_label="notifications", role="manager", codenames=MANAGER_PERMISSIONS)
