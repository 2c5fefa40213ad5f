"""The roles a person can hold: each is a Django group named by its value.

Here, below the ``applications`` core, because roles belong to the account: the core, the back office,
notifications and reports all ask "which role does this user hold", and accounts must not import the
core to answer. The groups and their permissions are created by ``applications/migrations/0003_roles.py``
(the permissions are the core's), which spells the names out rather than importing this module.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles are Django groups named by these values (created by a migration)."""

    CUSTOMER = "customer", _("Customer")
    DEALER = "dealer", _("Dealer F&I staff")
    REVIEWER = "reviewer", _("Credit reviewer")
    APPROVER = "approver", _("Credit approver")
    SENIOR_APPROVER = "senior_approver", _("Senior credit approver")
    OPERATIONS = "operations", _("Operations")
    FINANCE = "finance", _("Finance")
    MANAGER = "manager", _("Manager")


# The back office: everyone who works on applications rather than owning or bringing one.
STAFF_ROLES = frozenset(
    {
        Role.REVIEWER,
        Role.APPROVER,
        Role.SENIOR_APPROVER,
        Role.OPERATIONS,
        Role.FINANCE,
        Role.MANAGER,
    }
)
