"""The API's default data: managers create, see and revoke dealerships' API keys in the admin
(revoking is a change; keys are never deleted). Migration 0002 calls ``load`` with its historical
registry and the test suite with the live one after a flush, so it is idempotent."""

from __future__ import annotations

from django.apps.registry import Apps

from applications.defaults.roles import role_permissions_grant

MANAGER_PERMISSIONS = ["view_apikey", "add_apikey", "change_apikey"]


def load(apps: Apps) -> None:
    role_permissions_grant(apps, app_label="api", role="manager", codenames=MANAGER_PERMISSIONS)
