"""The back office's default data: the assignment rules and the manager's permissions on the back
office's own models.

Approval of more than ¥300,000 requested goes to senior approvers; up to that, to approvers, with
senior approvers as the fallback when no approver is eligible (priority 200). All of it is data,
editable in admin ("Assignment rules"). Migration 0002 calls ``load`` with its historical
registry and the test suite with the live one after a flush, so it is idempotent and uses only
fields that migration's models have; changing it here changes new databases and the tests only.
"""

from __future__ import annotations

from decimal import Decimal

from django.apps.registry import Apps

from applications.defaults.roles import role_permissions_grant

SENIOR_THRESHOLD = Decimal("300000.00")

# name, role, stages, more than, up to, priority
RULES = [
    ("Credit review", "reviewer", ["under_review"], None, None, 100),
    ("Standard approval", "approver", ["approval"], None, SENIOR_THRESHOLD, 100),
    ("Large approval (senior approvers)", "senior_approver", ["approval"], SENIOR_THRESHOLD, None, 100),
    ("Standard approval, senior cover", "senior_approver", ["approval"], None, SENIOR_THRESHOLD, 200),
    (
        "Contract and lien registration",
        "operations",
        ["contract_signing", "lien_registration"],
        None,
        None,
        100,
    ),
    ("Disbursement", "finance", ["disbursement"], None, None, 100),
]

MANAGER_PERMISSIONS = [
    "add_assignmentrule",
    "change_assignmentrule",
    "view_assignmentrule",
    "view_assignment",
    "view_piiaccesslog",
    # Canned answers to customers' questions (migration 0007: the model came in 0006).
    "add_cannedanswer",
    "change_cannedanswer",
    "delete_cannedanswer",
    "view_cannedanswer",
]


def load(apps: Apps) -> None:
    assignment_rules_load(apps)
    manager_permissions_grant(apps)


def assignment_rules_load(apps: Apps) -> None:
    """Every default rule, as written here (an edited default rule is put back)."""
    AssignmentRule = apps.get_model("reviews", "AssignmentRule")
    for name, role, stages, above, up_to, priority in RULES:
        AssignmentRule.objects.update_or_create(
            name=name,
            defaults={
                "role": role,
                "stages": stages,
                "min_amount": above,
                "max_amount": up_to,
                "priority": priority,
                "is_active": True,
            },
        )


def manager_permissions_grant(apps: Apps) -> None:
    role_permissions_grant(apps, app_label="reviews", role="manager", codenames=MANAGER_PERMISSIONS)
