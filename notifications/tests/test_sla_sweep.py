"""The SLA sweep: at risk at 80 %, overdue at 100 %, escalated again at 150 %, each told once."""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from applications import services
from applications.choices import Stage
from applications.sla import SlaState
from applications.tests.factories import put_required_documents
from notifications.choices import Kind
from notifications.models import Delivery, Notification
from notifications.services import sla_sweep, sla_sweep_health

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# Entered review Monday 2 March 2026 09:00; 24 working hours → due Wednesday 4 March 15:00.
# Entry → due is 54 h of wall time: at risk from Wednesday 04:12, escalated again from Thursday 18:00.
ENTERED = at(2026, 3, 2, 9)


@pytest.fixture
def in_review(draft, customer, reviewer, manager):
    put_required_documents(draft, uploaded_by=customer)
    with time_machine.travel(ENTERED, tick=False):
        application = services.application_submit(application=draft, actor=customer)
        application = services.precheck_pass(application=services.precheck_start(application=application))
    assert application.stage_due_at == at(2026, 3, 4, 15)
    return application


def sent(kind: str, to=None) -> int:
    rows = Notification.objects.filter(kind=kind)
    return rows.filter(recipient=to).count() if to is not None else rows.count()


def state_of(application) -> str:
    application.refresh_from_db()
    return application.sla_state


def test_a_stage_well_within_its_time_is_on_time(in_review):
    sla_sweep(now=at(2026, 3, 4, 4, 11))
    assert state_of(in_review) == SlaState.ON_TIME
    assert not Notification.objects.filter(kind__startswith="sla").exists()


def test_past_eighty_percent_the_owner_is_reminded(in_review, reviewer):
    result = sla_sweep(now=at(2026, 3, 4, 4, 13))
    assert state_of(in_review) == SlaState.AT_RISK
    assert result.at_risk == 1
    assert sent(Kind.SLA_AT_RISK, to=reviewer) == 1


def test_past_the_due_time_owner_manager_and_customer_hear_once(in_review, reviewer, manager, customer):
    sla_sweep(now=at(2026, 3, 4, 5))
    sla_sweep(now=at(2026, 3, 4, 15))
    sla_sweep(now=at(2026, 3, 4, 16))  # the same verdict again: nothing new
    assert state_of(in_review) == SlaState.BREACHED
    assert sent(Kind.SLA_BREACHED, to=reviewer) == 1
    assert sent(Kind.SLA_ESCALATION, to=manager) == 1
    assert sent(Kind.DELAY_NOTICE, to=customer) == 1
    assert sent(Kind.SLA_ESCALATION) == 1


def test_past_one_hundred_fifty_percent_the_manager_hears_again_once(in_review, manager):
    sla_sweep(now=at(2026, 3, 5, 17, 59))
    assert sent(Kind.SLA_ESCALATION, to=manager) == 1
    sla_sweep(now=at(2026, 3, 5, 18))
    sla_sweep(now=at(2026, 3, 6, 9))
    assert sent(Kind.SLA_ESCALATION, to=manager) == 2
    in_review.refresh_from_db()
    assert in_review.sla_escalated_at is not None


def test_the_sweep_run_twice_sends_one_reminder(in_review, reviewer):
    moment = at(2026, 3, 4, 5)
    sla_sweep(now=moment)
    # As if a second beat had overlapped: the state is reset, the dedupe keys still hold.
    type(in_review).objects.filter(pk=in_review.pk).update(sla_state=SlaState.ON_TIME)
    sla_sweep(now=moment)
    assert sent(Kind.SLA_AT_RISK, to=reviewer) == 1


def test_a_new_stage_starts_on_time(in_review, reviewer):
    sla_sweep(now=at(2026, 3, 4, 16))
    with time_machine.travel(at(2026, 3, 4, 16, 5), tick=False):
        application = services.review_recommend(application=in_review, actor=reviewer)
    assert application.stage == Stage.APPROVAL
    assert state_of(application) == SlaState.ON_TIME


# --- Who is reminded: the owner the back office names (LOANPORTAL_OWNER_SELECTOR), else the role ---


def colleague_owns_every_file(application_ids) -> dict[int, int]:
    """An owner selector: the colleague holds every file asked about."""
    colleague = get_user_model().objects.get(username="colleague")
    return dict.fromkeys(application_ids, colleague.pk)


def reminded(kind: str) -> list[int]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient", flat=True))


def test_the_owner_the_selector_names_is_the_only_one_reminded(in_review, make_user, settings):
    colleague = make_user("colleague", "reviewer")
    settings.LOANPORTAL_OWNER_SELECTOR = f"{__name__}.colleague_owns_every_file"
    sla_sweep(now=at(2026, 3, 4, 5))
    assert reminded(Kind.SLA_AT_RISK) == [colleague.pk]


def test_without_an_owner_every_member_of_the_stages_role_is_reminded(
    in_review, reviewer, make_user, settings
):
    colleague = make_user("colleague", "reviewer")
    settings.LOANPORTAL_OWNER_SELECTOR = ""  # no back office to ask
    sla_sweep(now=at(2026, 3, 4, 5))
    assert reminded(Kind.SLA_AT_RISK) == sorted([reviewer.pk, colleague.pk])


def test_an_owner_selector_that_cannot_be_imported_is_named_in_the_error(in_review, settings):
    settings.LOANPORTAL_OWNER_SELECTOR = "notifications.tests.no_such_module.owners"
    with pytest.raises(ImproperlyConfigured, match="LOANPORTAL_OWNER_SELECTOR"):
        sla_sweep(now=at(2026, 3, 4, 5))


# --- Sent once: a rolled-back pass sends nothing ------------------------------------------------


def test_a_rolled_back_pass_leaves_the_state_sends_nothing_and_queues_nothing(
    in_review, django_capture_on_commit_callbacks
):
    told = Notification.objects.filter(kind__in=[Kind.SLA_BREACHED, Kind.SLA_ESCALATION, Kind.DELAY_NOTICE])
    with (
        django_capture_on_commit_callbacks() as queued,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        assert sla_sweep(now=at(2026, 3, 4, 16)).notifications == 3
        raise RuntimeError("the pass failed after writing its notifications")
    assert queued == []  # the relay is not queued
    assert state_of(in_review) == SlaState.ON_TIME
    assert not told.exists() and not Delivery.objects.filter(notification__in=told).exists()
    # The next pass finds the change still to make, and tells each once.
    assert sla_sweep(now=at(2026, 3, 4, 16)).notifications == 3
    assert told.count() == 3


# --- Missing-document nudges: 24 h after the request, then every 48 h, at most 3 -----------------


@pytest.fixture
def awaiting(draft, customer):
    with time_machine.travel(ENTERED, tick=False):
        application = services.application_submit(application=draft, actor=customer)
        return services.precheck_request_documents(
            application=services.precheck_start(application=application)
        )


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(23, 0), (24, 1), (71, 1), (72, 2), (119, 2), (120, 3), (500, 3)],
)
def test_document_nudges_follow_the_schedule(awaiting, customer, hours, expected):
    # The sweep runs every hour in between: each nudge is sent when due, and no more.
    for hour in range(0, hours + 1):
        sla_sweep(now=ENTERED + dt.timedelta(hours=hour))
    assert sent(Kind.DOCUMENTS_REMINDER, to=customer) == expected


def test_a_late_sweep_sends_one_nudge_not_the_missed_ones(awaiting, customer):
    sla_sweep(now=ENTERED + dt.timedelta(hours=200))
    assert sent(Kind.DOCUMENTS_REMINDER, to=customer) == 1


# --- Health -------------------------------------------------------------------------------------


def test_the_last_sweep_is_recorded_and_goes_stale_after_three_intervals(db, settings):
    settings.SLA_SWEEP_INTERVAL = 60
    assert sla_sweep_health() == (None, True)
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        sla_sweep()
    last, stale = sla_sweep_health(now=at(2026, 3, 2, 9, 3))
    assert last == at(2026, 3, 2, 9) and not stale
    assert sla_sweep_health(now=at(2026, 3, 2, 9, 3, 1))[1]


def test_managers_see_a_stale_sweep_on_the_admin_index(client, manager):
    client.force_login(manager)
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert "The SLA sweep has never run" in response.content.decode()
    sla_sweep()
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert "SLA sweep last ran at" in response.content.decode()


def test_the_customer_delay_notice_names_the_stage_in_the_inbox(in_review, customer):
    from notifications.texts import render

    sla_sweep(now=at(2026, 3, 4, 15))
    notice = Notification.objects.select_related("application").get(kind=Kind.DELAY_NOTICE)
    rendered = render(notice)
    assert rendered.title == "Your application is taking longer than planned"
    assert in_review.display_reference in rendered.body and "Credit review" in rendered.body


# --- A backlog is worked off in bounded passes -----------------------------------------------------


@pytest.fixture
def five_in_review(customer, dealer, reviewer, manager):
    from applications.tests.factories import make_draft

    applications = []
    with time_machine.travel(ENTERED, tick=False):
        for _ in range(5):
            draft = make_draft(customer=customer, dealer=dealer)
            put_required_documents(draft, uploaded_by=customer)
            application = services.application_submit(application=draft, actor=customer)
            applications.append(
                services.precheck_pass(application=services.precheck_start(application=application))
            )
    return applications


def test_a_pass_changes_at_most_its_batch_and_says_there_is_more(five_in_review, reviewer):
    late = at(2026, 3, 4, 16)
    first = sla_sweep(now=late, batch=2)
    assert (first.breached, first.more) == (2, True)
    assert sorted(state_of(a) for a in five_in_review).count(SlaState.BREACHED) == 2
    second = sla_sweep(now=late, batch=2)
    third = sla_sweep(now=late, batch=2)
    assert (second.breached, second.more) == (2, True)
    assert (third.breached, third.more) == (1, False)
    assert all(state_of(a) == SlaState.BREACHED for a in five_in_review)
    # Each file told once, whichever pass reached it.
    assert sent(Kind.SLA_BREACHED, to=reviewer) == 5
    assert sla_sweep(now=late, batch=2).notifications == 0


def test_a_pass_keeps_to_its_batch_whatever_plan_the_database_picks(five_in_review):
    """The batch is chosen once. Rescanned for each row of the UPDATE (a nested loop, which the
    planner may pick from its statistics), a ``LIMIT … FOR UPDATE SKIP LOCKED`` subquery skips the
    rows the UPDATE has just changed and hands over the next ones, until every row has changed."""
    from django.db import connection

    with connection.cursor() as cursor:  # for this test's transaction: that nested loop
        for plan in ("hashjoin", "mergejoin", "material", "sort", "hashagg"):
            cursor.execute(f"SET LOCAL enable_{plan} = off")

    assert sla_sweep(now=at(2026, 3, 4, 16), batch=2).breached == 2
    assert sorted(state_of(a) for a in five_in_review).count(SlaState.BREACHED) == 2


def test_the_task_works_off_a_backlog_pass_after_pass(five_in_review, reviewer, settings):
    from notifications.tasks import sla_sweep as sweep_task

    settings.SLA_SWEEP_BATCH = 2
    with time_machine.travel(at(2026, 3, 4, 16), tick=False):
        sweep_task.delay()  # tests run tasks in-process: the follow-up passes run inside this one
    assert all(state_of(a) == SlaState.BREACHED for a in five_in_review)
    assert sent(Kind.SLA_BREACHED, to=reviewer) == 5
