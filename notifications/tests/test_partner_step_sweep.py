"""The SLA sweep and partners' steps: the file's owner reminded at 80 % of a step's limit and again
past it, the managers told once it has passed, each once however many passes run."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications import services
from applications.choices import PartnerStepKind, PartnerStepStatus
from applications.models import PartnerStep
from applications.tests.factories import at_offer
from notifications.choices import Kind
from notifications.models import Notification
from notifications.services import sla_sweep
from notifications.texts import render

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOOK = "applications.services.partner_steps.steps_on_stage_entry"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def insurance(customer, dealer, reviewer, approver, operations, manager, settings):
    """Contract signing entered on Monday 2 March 2026 at 10:00: the insurance policy (nine working
    hours) is at risk from Monday 17:12 (80 %) and due Tuesday 10:00; the e-signature is done."""
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    entered = at(2026, 3, 2, 10)
    with time_machine.travel(entered, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=entered)
        application = services.offer_accept(application=application, actor=customer, now=entered)
    signature = PartnerStep.objects.get(application=application, kind=PartnerStepKind.E_SIGNATURE)
    services.partner_step_report(step=signature, status=PartnerStepStatus.DONE, now=entered)
    return PartnerStep.objects.get(application=application, kind=PartnerStepKind.INSURANCE_POLICY)


def told(kind: str, to=None) -> int:
    rows = Notification.objects.filter(kind=kind)
    return rows.filter(recipient=to).count() if to is not None else rows.count()


def test_the_stages_staff_are_reminded_once_when_a_step_is_close_to_due(insurance, operations, manager):
    sla_sweep(now=at(2026, 3, 2, 17, 11))
    assert told(Kind.PARTNER_STEP_REMINDER) == 0
    result = sla_sweep(now=at(2026, 3, 2, 17, 12))
    assert result.partner_steps_at_risk == 1
    # Nobody holds the file: the stage's role (operations) chases the partner.
    assert told(Kind.PARTNER_STEP_REMINDER, to=operations) == 1
    assert told(Kind.PARTNER_STEP_ESCALATION) == 0
    sla_sweep(now=at(2026, 3, 2, 17, 30))
    assert told(Kind.PARTNER_STEP_REMINDER) == 1


def test_past_due_staff_are_reminded_again_and_the_managers_told_once(insurance, operations, manager):
    sla_sweep(now=at(2026, 3, 2, 17, 12))
    result = sla_sweep(now=at(2026, 3, 3, 10))
    assert result.partner_steps_breached == 1
    assert told(Kind.PARTNER_STEP_REMINDER, to=operations) == 2
    assert told(Kind.PARTNER_STEP_ESCALATION, to=manager) == 1
    sla_sweep(now=at(2026, 3, 3, 11))
    sla_sweep(now=at(2026, 3, 4, 11))
    assert told(Kind.PARTNER_STEP_REMINDER, to=operations) == 2
    assert told(Kind.PARTNER_STEP_ESCALATION, to=manager) == 1
    escalation = Notification.objects.get(kind=Kind.PARTNER_STEP_ESCALATION)
    assert "“Insurance policy”" in render(escalation).body
    assert "escalated to you" in render(escalation).body


def test_a_step_done_in_time_is_never_chased(insurance, operations):
    services.partner_step_report(step=insurance, status=PartnerStepStatus.DONE, now=at(2026, 3, 3, 9))
    sla_sweep(now=at(2026, 3, 3, 12))
    assert told(Kind.PARTNER_STEP_REMINDER) == 0 and told(Kind.PARTNER_STEP_ESCALATION) == 0


def test_a_step_asked_again_after_a_failure_is_chased_again(insurance, operations):
    sla_sweep(now=at(2026, 3, 3, 10))
    assert told(Kind.PARTNER_STEP_REMINDER, to=operations) == 1  # straight to overdue: one reminder
    services.partner_step_report(step=insurance, status=PartnerStepStatus.FAILED, now=at(2026, 3, 3, 11))
    services.partner_step_report(step=insurance, status=PartnerStepStatus.REQUESTED, now=at(2026, 3, 3, 11))
    sla_sweep(now=at(2026, 3, 4, 11))  # nine working hours later: overdue again, a new request
    assert told(Kind.PARTNER_STEP_REMINDER, to=operations) == 2
