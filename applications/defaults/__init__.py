"""The core's default data: configuration (``configuration``), the expiry limits (``expiry``),
the role groups and their permissions (``roles``), the working calendar (``calendar``) and the
partner steps each stage needs (``partner_steps``).

Each loader is idempotent and takes an app registry: the data migrations (0002, 0003, 0008) call
them with their historical registry, and the test suite calls ``load`` with the live one to put
the data back after a transactional test's flush. So a loader may use only fields its migration's
models have; and changing the data here changes new databases and the tests only: an existing
database needs a data migration of its own.
"""

from __future__ import annotations

from django.apps.registry import Apps

from .calendar import working_calendar_load
from .configuration import configuration_load
from .expiry import expiry_limits_load
from .partner_steps import partner_steps_load
from .roles import roles_assign


def load(apps: Apps) -> None:
    """Everything the core's data migrations load, again (the permissions must exist already)."""
    configuration_load(apps)
    expiry_limits_load(apps)
    roles_assign(apps)
    working_calendar_load(apps)
    partner_steps_load(apps)
