"""Staff hear about new assignments, and managers get one summary a day."""

from __future__ import annotations

import datetime as dt

from applications import services
from applications.choices import EventKind
from applications.models import LoanApplication
from applications.sla import SlaState
from applications.tests.factories import put_required_documents
from notifications.choices import Kind
from notifications.models import Notification
from notifications.services import digest_send
from notifications.texts import render


def test_an_automatic_assignment_tells_the_assignee(draft, customer, reviewer):
    put_required_documents(draft, uploaded_by=customer)
    application = services.application_submit(application=draft, actor=customer)
    services.precheck_pass(application=services.precheck_start(application=application))
    notice = Notification.objects.get(kind=Kind.NEW_ASSIGNMENT)
    assert notice.recipient == reviewer
    assert notice.context == {"stage": "under_review"}


def test_claiming_a_file_yourself_sends_nothing(draft, customer, reviewer):
    put_required_documents(draft, uploaded_by=customer)
    application = services.application_submit(application=draft, actor=customer)
    application = services.precheck_pass(application=services.precheck_start(application=application))
    Notification.objects.filter(kind=Kind.NEW_ASSIGNMENT).delete()
    # A claim, as the back office records it: an assignment event whose actor is the assignee.
    services.application_event_add(
        application=application,
        kind=EventKind.ASSIGNMENT,
        actor=reviewer,
        data={"stage": application.stage, "assignee": reviewer.pk, "action": "claimed"},
    )
    assert not Notification.objects.filter(kind=Kind.NEW_ASSIGNMENT).exists()


def test_each_manager_gets_one_digest_a_day(manager, draft, customer):
    LoanApplication.objects.filter(pk=draft.pk).update(stage="under_review", sla_state=SlaState.BREACHED)
    morning = dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    assert digest_send(now=morning) == 1
    assert digest_send(now=morning + dt.timedelta(hours=2)) == 0  # the same day: nothing more
    assert digest_send(now=morning + dt.timedelta(days=1)) == 1
    digest = Notification.objects.filter(kind=Kind.DAILY_DIGEST).earliest("created_at")
    assert digest.recipient == manager
    assert (digest.context["breached"], digest.context["open"]) == (1, 1)
    assert "1 applications past their time limit" in render(digest).body


def test_the_digest_counts_open_and_overdue_correction_requests(manager, customer):
    from applications import services as core

    asked = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)  # Tuesday 10:00 in Shanghai
    core.correction_request_create(customer=customer, subject="name", details="张伟伟", now=asked)
    core.correction_request_create(customer=customer, subject="phone", details="13900000000", now=asked)
    later = asked + dt.timedelta(days=40)  # past 15 working days
    core.correction_request_create(customer=customer, subject="email", details="a@b.cn", now=later)

    assert digest_send(now=later) == 1

    digest = Notification.objects.get(kind=Kind.DAILY_DIGEST)
    assert (digest.context["corrections"], digest.context["corrections_overdue"]) == (3, 2)
    assert "Correction requests from customers: 3 open, 2 past their due time." in render(digest).body
