"""The last reminder before a file expires (``services.expiry_reminders_send``): one per wait, at the
limit the stage definition sets before the expiry, then the core's pass closes the file. The clock
is moved with time_machine."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication, StageDefinition
from applications.tests.factories import at_offer, awaiting_documents, make_draft
from notifications import tasks
from notifications.choices import Kind
from notifications.models import Notification
from notifications.services import expiry_reminders_send
from notifications.texts import render

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)  # a Monday
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def remind(now: dt.datetime) -> int:
    with time_machine.travel(now, tick=False):
        return expiry_reminders_send(now=now)


def expire(now: dt.datetime) -> tuple:
    with time_machine.travel(now, tick=False):
        return services.applications_expire_due(now=now, batch=100).expired


def warnings_to(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=Kind.EXPIRY_WARNING))


def stage_of(application: LoanApplication) -> str:
    application.refresh_from_db()
    return application.stage


@pytest.fixture
def waiting(customer, dealer, reviewer) -> LoanApplication:
    with time_machine.travel(T0, tick=False):
        return awaiting_documents(customer, dealer, reviewer)  # due T0 + 14 days


def test_a_file_waiting_for_documents_gets_one_last_reminder_then_expires_at_its_deadline(waiting, customer):
    assert remind(T0 + 11 * DAY - MINUTE) == 0  # three days before the deadline: not yet

    assert remind(T0 + 11 * DAY) == 1
    assert remind(T0 + 12 * DAY) == 0
    assert remind(T0 + 14 * DAY - MINUTE) == 0
    assert expire(T0 + 14 * DAY - MINUTE) == ()
    assert expire(T0 + 14 * DAY) == ((waiting.pk, Stage.AWAITING_DOCUMENTS),)
    assert remind(T0 + 14 * DAY + MINUTE) == 0

    [warning] = warnings_to(customer)
    assert warning.context == {
        "stage": Stage.AWAITING_DOCUMENTS,
        "expires": (T0 + 14 * DAY).astimezone(dt.UTC).isoformat(),
    }
    with translation.override("en"):
        assert "will be closed on 16 Mar 2026, 10:00 unless the documents" in render(warning).body
    with translation.override("zh-hans"):
        assert "最后提醒：如在 2026年3月16日 10:00 之前仍未收到我们要求的资料" in render(warning).body
    assert stage_of(waiting) == Stage.EXPIRED
    assert Notification.objects.filter(recipient=customer, kind=Kind.DECISION).count() == 1


def test_an_offer_gets_its_last_reminder_a_day_before_its_reply_by_date(customer, dealer, reviewer, approver):
    with time_machine.travel(T0, tick=False):
        at_offer(customer, dealer, reviewer, approver, now=T0)

    assert remind(T0 + 6 * DAY - MINUTE) == 0
    assert remind(T0 + 6 * DAY + MINUTE) == 1

    [warning] = warnings_to(customer)
    with translation.override("en"):
        assert render(warning).body.startswith("Last reminder: the offer for application")


def test_a_draft_gets_a_reminder_before_it_expires_and_another_after_it_is_changed(customer, dealer):
    with time_machine.travel(T0, tick=False):
        draft = make_draft(customer=customer, dealer=dealer)

    assert remind(T0 + 27 * DAY + MINUTE) == 1
    with time_machine.travel(T0 + 28 * DAY, tick=False):  # the customer comes back, then leaves again
        services.consent_record(application=draft, kind="credit_check", user=customer)
    assert remind(T0 + 29 * DAY) == 0
    assert expire(T0 + 30 * DAY + MINUTE) == ()
    assert remind(T0 + 55 * DAY + MINUTE) == 1

    assert len(warnings_to(customer)) == 2
    assert expire(T0 + 58 * DAY + MINUTE) == ((draft.pk, Stage.DRAFT),)


def test_no_reminder_when_the_admin_turns_it_off_and_none_for_a_walk_in_buyer(
    waiting, customer, dealer, dealer_user
):
    StageDefinition.objects.filter(stage=Stage.AWAITING_DOCUMENTS).update(last_reminder_before=None)
    with time_machine.travel(T0, tick=False):
        make_draft(customer=None, dealer=dealer, created_by=dealer_user)  # nobody to tell

    assert remind(T0 + 13 * DAY) == 0
    assert remind(T0 + 28 * DAY) == 0
    assert not Notification.objects.filter(kind=Kind.EXPIRY_WARNING).exists()


def test_a_pass_reads_the_window_in_two_queries_however_many_files_wait(
    customer, dealer, django_assert_num_queries
):
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            make_draft(customer=customer, dealer=dealer)
    assert remind(T0 + 28 * DAY) == 3
    # The rules, the files in their window not reminded yet (none: each had its reminder).
    with django_assert_num_queries(2):
        assert remind(T0 + 28 * DAY + MINUTE) == 0


def test_the_beat_task_sends_the_reminders(waiting, customer):
    with time_machine.travel(T0 + 12 * DAY, tick=False):
        assert tasks.expiry_remind() == 1
        assert tasks.expiry_remind() == 0
    assert len(warnings_to(customer)) == 1
