"""Browser tests: Playwright's sync API drives Debian's Chromium against pytest-django's live_server."""

from __future__ import annotations

import importlib
import os

import pytest

# Playwright's sync API runs an event loop in the test thread, so Django believes every ORM call
# made there (fixtures, assertions) comes from async code and refuses it. Nothing here is async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A visitor from mainland China: the site must answer in Chinese without being asked."""
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture(autouse=True)
def migration_data(transactional_db):
    """Put back what the data migrations load: the configuration (stages and their customer texts,
    reasons, products) and the role groups with their permissions.

    Browser tests are transactional, and each one's flush empties every table, so the next test
    would find no stage definitions and no groups. ``serialized_rollback=True`` does not help here:
    when another test has run first in the same session, the connection the browser test gets has
    no serialized copy of the database and the restore silently does nothing. So load it again,
    explicitly; both steps are idempotent.
    """
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    importlib.import_module("applications.migrations.0002_default_configuration").load(apps, None)
    # 0003's create_roles itself cannot run on the live app registry (it toggles the app config's
    # models_module); the permissions exist again, because the flush re-emits post_migrate.
    roles = importlib.import_module("applications.migrations.0003_roles").ROLES
    for role, perms in roles.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = {perm.split(".", 1)[1] for perm in perms}
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="applications", codename__in=codenames)
        )
