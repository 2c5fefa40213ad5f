"""The SLA sweep and customers' questions: the owner reminded at 80 % of the first-response limit
and again past it, the managers told once it has passed, each once however many passes run."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications import services
from applications.models import QuestionThread
from applications.sla import SlaState
from applications.tests.factories import in_review
from notifications.choices import Kind
from notifications.models import Delivery, Notification
from notifications.services import sla_sweep
from reviews.models import Assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# Asked on Monday 2 March 2026 at 10:00 with the 4-hour limit: at risk from 13:12, due at 14:00.
ASKED = at(2026, 3, 2, 10)


@pytest.fixture
def thread(customer, dealer, reviewer, manager, settings):
    settings.QUESTION_RESPONSE_HOURS = 4
    with time_machine.travel(ASKED - dt.timedelta(hours=1), tick=False):
        application = in_review(customer, dealer)
    services.question_ask(application=application, actor=customer, body="Any news?", now=ASKED)
    return QuestionThread.objects.get(application=application)


def told(kind: str, to=None) -> int:
    rows = Notification.objects.filter(kind=kind)
    return rows.filter(recipient=to).count() if to is not None else rows.count()


def test_the_owner_is_reminded_once_when_the_first_response_is_close_to_due(thread, reviewer, manager):
    owner = Assignment.objects.get(application=thread.application, released_at__isnull=True).assignee
    assert owner == reviewer
    sla_sweep(now=at(2026, 3, 2, 13, 11))
    assert told(Kind.QUESTION_REMINDER) == 0
    result = sla_sweep(now=at(2026, 3, 2, 13, 12))
    assert result.questions_at_risk == 1
    assert told(Kind.QUESTION_REMINDER, to=reviewer) == 1
    assert told(Kind.QUESTION_ESCALATION) == 0
    thread.refresh_from_db()
    assert thread.sla_state == SlaState.AT_RISK
    sla_sweep(now=at(2026, 3, 2, 13, 30))
    assert told(Kind.QUESTION_REMINDER) == 1


def test_past_due_the_owner_is_reminded_again_and_the_managers_are_told_once(thread, reviewer, manager):
    sla_sweep(now=at(2026, 3, 2, 13, 12))
    result = sla_sweep(now=at(2026, 3, 2, 14))
    assert result.questions_breached == 1
    assert told(Kind.QUESTION_REMINDER, to=reviewer) == 2  # close to due, then past it
    assert told(Kind.QUESTION_ESCALATION, to=manager) == 1
    # Staff hear of it in the inbox and by email; never by SMS (staff kinds).
    escalation = Notification.objects.get(kind=Kind.QUESTION_ESCALATION)
    assert set(Delivery.objects.filter(notification=escalation).values_list("channel", flat=True)) == {
        "email"
    }
    before = Notification.objects.count()
    for hour in (15, 16, 17):
        sla_sweep(now=at(2026, 3, 2, hour))
    assert Notification.objects.count() == before


def test_a_pass_that_finds_it_past_due_at_once_tells_everyone_once(thread, reviewer, manager):
    sla_sweep(now=at(2026, 3, 3, 9))
    sla_sweep(now=at(2026, 3, 3, 9))
    assert told(Kind.QUESTION_REMINDER, to=reviewer) == 1
    assert told(Kind.QUESTION_ESCALATION, to=manager) == 1


def test_an_answered_question_reminds_nobody(thread, reviewer):
    services.question_answer(thread=thread, actor=reviewer, body="Tomorrow.", now=at(2026, 3, 2, 11))
    sla_sweep(now=at(2026, 3, 3, 12))
    assert told(Kind.QUESTION_REMINDER) == 0
    assert told(Kind.QUESTION_ESCALATION) == 0


def test_a_new_wait_after_an_answer_is_reminded_again(thread, customer, reviewer):
    sla_sweep(now=at(2026, 3, 2, 13, 12))
    sla_sweep(now=at(2026, 3, 2, 14))
    services.question_answer(thread=thread, actor=reviewer, body="Sorry, tomorrow.", now=at(2026, 3, 2, 15))
    services.question_ask(
        application=thread.application, actor=customer, body="Still?", now=at(2026, 3, 3, 9)
    )
    sla_sweep(now=at(2026, 3, 3, 13))  # 9:00 + 4 working hours = 13:00
    assert told(Kind.QUESTION_REMINDER, to=reviewer) == 3  # two for the first wait, one now past due


def test_the_words_name_the_application_and_never_the_question(thread, reviewer, manager):
    from notifications.texts import render

    sla_sweep(now=at(2026, 3, 2, 14))
    for notification in Notification.objects.filter(kind__startswith="question"):
        words = render(notification)
        assert thread.application.display_reference in words.body
        assert "Any news?" not in words.body
