"""Managers configure the assignment rules and read the assignment and personal-data logs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from applications.choices import Stage
from reviews.models import AssignmentRule

pytestmark = pytest.mark.django_db


def test_default_rules_route_large_approvals_to_senior_approvers():
    rules = {rule.name: rule for rule in AssignmentRule.objects.all()}
    large = rules["Large approval (senior approvers)"]
    standard = rules["Standard approval"]
    assert (large.role, large.min_amount, large.max_amount) == (Role.SENIOR_APPROVER, 300000, None)
    assert (standard.role, standard.min_amount, standard.max_amount) == (Role.APPROVER, None, 300000)


def test_a_manager_adds_a_rule_with_stages_as_checkboxes(client, manager):
    client.force_login(manager)
    url = reverse("admin:reviews_assignmentrule_add")

    form = client.get(url)
    response = client.post(
        url,
        {
            "name": "Shanghai reviews",
            "role": Role.REVIEWER,
            "stages": [Stage.UNDER_REVIEW],
            "dealer_region": "Shanghai",
            "priority": 50,
            "is_active": "on",
        },
    )

    assert form.status_code == 200 and 'type="checkbox" name="stages"' in form.content.decode()
    assert response.status_code == 302
    rule = AssignmentRule.objects.get(name="Shanghai reviews")
    assert (rule.stages, rule.dealer_region, rule.priority) == ([Stage.UNDER_REVIEW], "Shanghai", 50)


def test_a_rule_needs_a_stage_and_a_sensible_amount_range(client, manager):
    client.force_login(manager)

    response = client.post(
        reverse("admin:reviews_assignmentrule_add"),
        {"name": "Bad", "role": Role.APPROVER, "min_amount": "500000", "max_amount": "100000", "priority": 1},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page  # stages
    assert not AssignmentRule.objects.filter(name="Bad").exists()


def test_staff_other_than_managers_cannot_change_the_rules(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("admin:reviews_assignmentrule_changelist")).status_code == 403


@pytest.mark.parametrize("model", ["assignment", "piiaccesslog"])
def test_managers_read_the_logs_which_nobody_can_edit(client, manager, model):
    client.force_login(manager)

    assert client.get(reverse(f"admin:reviews_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:reviews_{model}_add")).status_code == 403
