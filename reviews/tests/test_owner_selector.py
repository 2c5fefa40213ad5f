"""The back office tells the notifications who owns a file now (``selectors.current_assignees``,
named by ``settings.LOANPORTAL_OWNER_SELECTOR``): the SLA reminders go to the current assignee.
Integration tests: they drive the back office and read the notifications it leads to."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from accounts.roles import Role
from applications.choices import Stage
from notifications.choices import Kind
from notifications.models import Notification
from notifications.services import sla_sweep
from reviews import services
from reviews.models import AssignmentRule
from reviews.selectors import current_assignees

pytestmark = pytest.mark.django_db


def test_the_setting_names_the_back_offices_selector():
    assert settings.LOANPORTAL_OWNER_SELECTOR == "reviews.selectors.current_assignees"


def test_current_assignees_names_the_open_assignment_of_each_file_and_leaves_out_the_rest(
    pipeline, reviewer, approver
):
    in_review = pipeline.new(Stage.UNDER_REVIEW)  # assigned to the reviewer
    in_approval = pipeline.new(Stage.APPROVAL)  # the reviewer's assignment released, the approver's open
    AssignmentRule.objects.update(is_active=False)
    nobodys = pipeline.new(Stage.UNDER_REVIEW)

    owners = current_assignees([in_review.pk, in_approval.pk, nobodys.pk])

    assert owners == {in_review.pk: reviewer.pk, in_approval.pk: approver.pk}


def test_a_reassigned_files_reminder_goes_to_the_new_assignee_only(pipeline, reviewer, manager, make_user):
    colleague = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.UNDER_REVIEW)
    services.assignment_reassign(application=application, assignee=colleague, actor=manager)

    sla_sweep(now=application.stage_due_at + dt.timedelta(minutes=1))

    breached = Notification.objects.filter(kind=Kind.SLA_BREACHED)
    assert list(breached.values_list("recipient", flat=True)) == [colleague.pk]


def test_claiming_a_file_yourself_sends_no_assignment_notice(pipeline, reviewer):
    AssignmentRule.objects.update(is_active=False)
    application = pipeline.new(Stage.UNDER_REVIEW)  # nobody's
    AssignmentRule.objects.update(is_active=True)

    services.assignment_claim(application=application, actor=reviewer)

    assert not Notification.objects.filter(kind=Kind.NEW_ASSIGNMENT).exists()
