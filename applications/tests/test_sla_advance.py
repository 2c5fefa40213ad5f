"""The SLA clock's pass (``services.sla_advance``): it marks open staff stages at risk (80 %) and
breached (100 %), marks the second escalation (150 %), and returns what changed, once, set-based;
it tells nobody (the notifications do, with what it returns)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication, Reason
from applications.services import SlaChange, SlaChanges
from applications.sla import SlaState

from .factories import make_draft, put_required_documents

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# Entered review Monday 2 March 2026 09:00; 24 working hours → due Wednesday 4 March 15:00.
# Entry → due is 54 h of wall time: at risk from Wednesday 04:12, escalated again from Thursday 18:00.
ENTERED = at(2026, 3, 2, 9)
DUE = at(2026, 3, 4, 15)
LATE = at(2026, 3, 4, 16)


def into_review(customer, dealer) -> LoanApplication:
    """A submitted application taken to review at ENTERED (its pre-check run here, not by a worker)."""
    draft = make_draft(customer=customer, dealer=dealer)
    put_required_documents(draft, uploaded_by=customer)
    with time_machine.travel(ENTERED, tick=False):
        application = services.application_submit(application=draft, actor=customer)
        application.refresh_from_db()
        if application.stage == Stage.SUBMITTED:  # no commit yet, so the pre-check has not run
            application = services.precheck_pass(application=services.precheck_start(application=application))
    assert (application.stage, application.stage_due_at) == (Stage.UNDER_REVIEW, DUE)
    return application


@pytest.fixture
def in_review(customer, dealer, reviewer) -> LoanApplication:
    return into_review(customer, dealer)


@pytest.fixture
def five_in_review(customer, dealer, reviewer) -> list[LoanApplication]:
    return [into_review(customer, dealer) for _ in range(5)]


def state_of(application: LoanApplication) -> tuple[str, dt.datetime | None]:
    application.refresh_from_db()
    return application.sla_state, application.sla_escalated_at


def advance(now: dt.datetime, batch: int = 100) -> SlaChanges:
    return services.sla_advance(now=now, batch=batch)


def test_a_stage_well_within_its_time_is_left_as_it_is(in_review):
    assert advance(at(2026, 3, 4, 4, 11)) == SlaChanges()
    assert state_of(in_review) == (SlaState.ON_TIME, None)


def test_past_eighty_percent_the_stage_is_at_risk_and_the_change_is_returned(in_review, customer):
    changes = advance(at(2026, 3, 4, 4, 13))
    assert changes == SlaChanges(
        changed=(
            SlaChange(
                application_id=in_review.pk,
                customer_id=customer.pk,
                stage=Stage.UNDER_REVIEW,
                sla_state=SlaState.AT_RISK,
                stage_entered_at=ENTERED,
                stage_due_at=DUE,
                delay_reason="",
            ),
        )
    )
    assert (changes.at_risk, changes.breached) == (1, 0)
    assert state_of(in_review) == (SlaState.AT_RISK, None)


def test_past_the_due_time_the_stage_is_breached_with_the_cause_of_delay_staff_gave(in_review):
    LoanApplication.objects.filter(pk=in_review.pk).update(
        delay_reason=Reason.objects.get(code="high_volume")
    )
    changes = advance(DUE)
    assert [(c.sla_state, c.delay_reason) for c in changes.changed] == [(SlaState.BREACHED, "high_volume")]
    assert (changes.breached, changes.escalated_again, changes.more) == (1, (), False)
    assert state_of(in_review) == (SlaState.BREACHED, None)


def test_a_second_pass_at_the_same_moment_changes_nothing(in_review):
    assert advance(at(2026, 3, 4, 5)).at_risk == 1
    assert advance(at(2026, 3, 4, 5)) == SlaChanges()
    assert advance(LATE).breached == 1
    assert advance(LATE) == SlaChanges()
    assert state_of(in_review) == (SlaState.BREACHED, None)


def test_past_one_hundred_fifty_percent_the_second_escalation_is_marked_once(in_review):
    assert advance(at(2026, 3, 5, 17, 59)).escalated_again == ()
    changes = advance(at(2026, 3, 5, 18))
    assert changes.changed == ()
    assert [c.application_id for c in changes.escalated_again] == [in_review.pk]
    assert state_of(in_review) == (SlaState.BREACHED, at(2026, 3, 5, 18))
    assert advance(at(2026, 3, 6, 9)) == SlaChanges()


def test_a_first_look_past_one_hundred_fifty_percent_breaches_and_escalates_in_one_pass(in_review):
    changes = advance(at(2026, 3, 6, 9))
    assert [c.sla_state for c in changes.changed] == [SlaState.BREACHED]
    assert [c.application_id for c in changes.escalated_again] == [in_review.pk]


def test_a_pass_changes_at_most_its_batch_and_says_there_is_more(five_in_review):
    passes = [advance(LATE, batch=2) for _ in range(4)]
    assert [(p.breached, p.more) for p in passes] == [(2, True), (2, True), (1, False), (0, False)]
    changed = [c.application_id for p in passes for c in p.changed]
    assert sorted(changed) == sorted(a.pk for a in five_in_review)  # each file once
    assert all(state_of(a)[0] == SlaState.BREACHED for a in five_in_review)


def test_a_late_file_that_left_the_staff_clock_without_a_transition_is_on_time_again(in_review):
    LoanApplication.objects.filter(pk=in_review.pk).update(
        stage=Stage.AWAITING_DOCUMENTS, sla_state=SlaState.BREACHED, sla_escalated_at=LATE
    )
    assert advance(LATE) == SlaChanges()  # nobody is told of it
    assert state_of(in_review) == (SlaState.ON_TIME, None)


def test_a_breached_file_that_left_the_staff_clock_is_not_escalated_again(in_review):
    LoanApplication.objects.filter(pk=in_review.pk).update(
        stage=Stage.AWAITING_DOCUMENTS, sla_state=SlaState.BREACHED, sla_escalated_at=None
    )
    assert advance(at(2026, 3, 6, 9)) == SlaChanges()  # past 150 % of the stay it left
    assert state_of(in_review) == (SlaState.ON_TIME, None)


def test_a_pass_costs_the_same_queries_for_one_file_or_five(five_in_review, django_assert_num_queries):
    LoanApplication.objects.filter(pk=five_in_review[0].pk).update(
        delay_reason=Reason.objects.get(code="high_volume")
    )
    # The savepoint, the lock, the states, the second escalations, the files that left the staff
    # clock, the working calendar's hours and days; the cause of the four overdue files without
    # one: the catalogue reason, the files' chain heads, the events, the files' new causes (one
    # UPDATE); in working hours, the overdue files still explained as "outside working hours"
    # (none); the savepoint's release. The fifth file's cause is the one the pass read: its code
    # costs no query.
    with django_assert_num_queries(13):
        assert advance(at(2026, 3, 6, 9)).breached == 5


def test_outside_working_hours_a_pass_locks_no_file_waiting_for_the_morning(
    five_in_review, django_assert_num_queries
):
    advance(at(2026, 3, 6, 20))  # Friday evening: all five overdue, outside working hours
    assert set(LoanApplication.objects.values_list("delay_reason__code", flat=True)) == {
        "outside_working_hours"
    }
    # Saturday, nothing new: the savepoint, the lock, the states, the second escalations, the files
    # that left the staff clock, the working calendar's hours and days, the release. The files
    # explained as "outside working hours" are neither read nor locked until working hours.
    with django_assert_num_queries(8) as captured:
        assert advance(at(2026, 3, 7, 11)) == SlaChanges()
    assert not any('JOIN "applications_reason"' in query["sql"] for query in captured)
    assert set(LoanApplication.objects.values_list("delay_reason__code", flat=True)) == {
        "outside_working_hours"
    }
    # Monday morning they move on to the reviewers' backlog, in one set of queries for all five.
    with django_assert_num_queries(13):
        advance(at(2026, 3, 9, 9, 5))
    assert set(LoanApplication.objects.values_list("delay_reason__code", flat=True)) == {"high_volume"}


def test_the_new_states_roll_back_with_the_callers_transaction(in_review):
    with contextlib.suppress(RuntimeError), transaction.atomic():
        assert advance(LATE).breached == 1
        raise RuntimeError("the notifications failed")
    assert state_of(in_review) == (SlaState.ON_TIME, None)
    assert advance(LATE).breached == 1  # the next pass finds the change still to make


# --- Two at once: a staff transition holding a row, another pass holding the lock -------------


@contextlib.contextmanager
def held_by_another_transaction(hold: Callable[[], object]) -> Iterator[None]:
    """Run ``hold`` in a transaction of another thread and connection, kept open until the block ends."""
    holding, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported in the test's thread
            failed.append(exc)
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    holding.wait(timeout=30)
    try:
        assert not failed, failed
        yield
    finally:
        release.set()
        thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_file_a_transition_holds_is_skipped_not_waited_for_and_taken_by_the_next_pass(five_in_review):
    held = five_in_review[0]
    with held_by_another_transaction(lambda: LoanApplication.objects.select_for_update().get(pk=held.pk)):
        first = advance(LATE)
    assert sorted(c.application_id for c in first.changed) == sorted(a.pk for a in five_in_review[1:])
    assert state_of(held)[0] == SlaState.ON_TIME
    assert [c.application_id for c in advance(LATE).changed] == [held.pk]


@pytest.mark.django_db(transaction=True)
def test_a_pass_while_another_runs_is_skipped_and_changes_nothing(in_review):
    with held_by_another_transaction(lambda: advance(at(2026, 3, 4, 4, 11))):  # a pass, nothing to do yet
        assert advance(LATE) == SlaChanges(skipped=True)
        assert state_of(in_review)[0] == SlaState.ON_TIME
    assert advance(LATE).breached == 1
