"""Third parties' steps within a stage: requested when a file enters the stage, due on the working
calendar, holding the stage until the required ones are done, a failure becoming the cause of
delay, and every change a history event."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from applications import services
from applications.choices import EventKind, PartnerStepKind, PartnerStepStatus, Stage
from applications.history import verify_chains
from applications.models import LoanApplication, PartnerStep, PartnerStepRequirement, Reason
from applications.services import TransitionRefused
from applications.services.partner_steps import partner_step_clock, partner_steps_sla_advance
from applications.sla import SlaState
from applications.working_calendar import CalendarDay

from .factories import at_offer, detail_url, text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOOK = "applications.services.partner_steps.steps_on_stage_entry"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def partner_steps_on(settings):
    """The test settings leave the hook out (other tests move files with no partner answering)."""
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]


def contract_signing(customer, dealer, reviewer, approver, *, now: dt.datetime) -> LoanApplication:
    """A file that entered contract signing at ``now`` (the e-signature and insurance requested)."""
    with time_machine.travel(now, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=now)
        return services.offer_accept(application=application, actor=customer, now=now)


@pytest.fixture
def signing(customer, dealer, reviewer, approver):
    return contract_signing(customer, dealer, reviewer, approver, now=at(2026, 3, 6, 17))


def step_of(application: LoanApplication, kind: str) -> PartnerStep:
    return PartnerStep.objects.get(application=application, kind=kind)


def report(step: PartnerStep, status: str, **kwargs) -> PartnerStep:
    return services.partner_step_report(step=step, status=status, **kwargs)


# --- Deadlines on the working calendar ------------------------------------------------------------


@pytest.mark.django_db
def test_a_step_requested_friday_at_five_with_two_working_days_is_due_on_tuesday():
    # 18 working hours (two days of 09:00–18:00): 1 on Friday, 9 on Monday, 8 on Tuesday.
    clock = partner_step_clock(requested_at=at(2026, 3, 6, 17), limit_hours=18)
    assert clock.due_at == at(2026, 3, 10, 17)
    assert clock.at_risk_at == at(2026, 3, 10, 13, 24)  # 80 %: 14 h 24 min of working time
    assert clock.usual_days == 2


@pytest.mark.django_db
def test_a_public_holiday_on_monday_moves_the_step_to_wednesday():
    CalendarDay.objects.create(date=dt.date(2026, 3, 9), is_working=False, note="holiday")
    clock = partner_step_clock(requested_at=at(2026, 3, 6, 17), limit_hours=18)
    assert clock.due_at == at(2026, 3, 11, 17)


@pytest.mark.django_db
def test_a_limit_under_a_working_day_is_said_in_hours():
    assert partner_step_clock(requested_at=at(2026, 3, 2, 10), limit_hours=4).usual_days == 0
    assert partner_step_clock(requested_at=at(2026, 3, 2, 10), limit_hours=10).usual_days == 2


def test_entering_a_stage_requests_its_steps_each_on_its_clock(signing):
    steps = {step.kind: step for step in signing.partner_steps.filter(stage=Stage.CONTRACT_SIGNING)}
    assert set(steps) == {PartnerStepKind.E_SIGNATURE, PartnerStepKind.INSURANCE_POLICY}
    insurance = steps[PartnerStepKind.INSURANCE_POLICY]
    assert insurance.status == PartnerStepStatus.REQUESTED
    assert insurance.requested_at == at(2026, 3, 6, 17)
    assert insurance.due_at == at(2026, 3, 9, 17)  # nine working hours: Friday's last, Monday's eight
    assert insurance.required and insurance.stage == Stage.CONTRACT_SIGNING
    signing.refresh_from_db()
    assert signing.partner_steps_waiting == 2
    kinds = [
        e.data["kind"] for e in signing.events.filter(kind=EventKind.PARTNER, to_stage=Stage.CONTRACT_SIGNING)
    ]
    assert sorted(kinds) == [PartnerStepKind.E_SIGNATURE, PartnerStepKind.INSURANCE_POLICY]
    # The review asked the credit bureau for its full report, which did not hold the review.
    assert step_of(signing, PartnerStepKind.CREDIT_REPORT).stage == Stage.UNDER_REVIEW


def test_a_requirement_switched_off_in_the_admin_is_not_requested(customer, dealer, reviewer, approver):
    PartnerStepRequirement.objects.filter(kind=PartnerStepKind.INSURANCE_POLICY).update(is_active=False)
    application = contract_signing(customer, dealer, reviewer, approver, now=at(2026, 3, 6, 17))
    steps = application.partner_steps.filter(stage=Stage.CONTRACT_SIGNING)
    assert [s.kind for s in steps] == [PartnerStepKind.E_SIGNATURE]


# --- The stage waits for its required steps -----------------------------------------------------------


def test_the_contract_cannot_be_marked_signed_while_a_required_step_is_open(signing, operations):
    with pytest.raises(TransitionRefused) as refused:
        services.contract_mark_signed(application=signing, actor=operations)
    assert str(refused.value) == (
        "Waiting for partners to finish: E-signature of the contract, Insurance policy. "
        "The stage moves on once they are done."
    )
    report(step_of(signing, PartnerStepKind.E_SIGNATURE), PartnerStepStatus.DONE)
    with pytest.raises(TransitionRefused, match="Insurance policy"):
        services.contract_mark_signed(application=signing, actor=operations)
    assert not services.available_transitions(
        application=LoanApplication.objects.get(pk=signing.pk), user=operations
    ).count("sign_contract")


def test_once_every_required_step_is_done_the_stage_moves_on_and_asks_for_the_next(signing, operations):
    for kind in (PartnerStepKind.E_SIGNATURE, PartnerStepKind.INSURANCE_POLICY):
        step = report(step_of(signing, kind), PartnerStepStatus.IN_PROGRESS)
        report(step, PartnerStepStatus.DONE)
    application = services.contract_mark_signed(application=signing, actor=operations)
    assert application.stage == Stage.LIEN_REGISTRATION
    assert application.partner_steps_waiting == 1  # the lien; GPS is not required
    kinds = set(
        application.partner_steps.filter(stage=Stage.LIEN_REGISTRATION).values_list("kind", flat=True)
    )
    assert kinds == {PartnerStepKind.LIEN_REGISTRATION, PartnerStepKind.GPS_INSTALLATION}


def test_a_step_not_required_does_not_hold_the_stage(signing, operations):
    PartnerStep.objects.filter(application=signing).update(status=PartnerStepStatus.DONE)
    LoanApplication.objects.filter(pk=signing.pk).update(partner_steps_waiting=0)
    application = services.contract_mark_signed(application=signing, actor=operations)
    lien = step_of(application, PartnerStepKind.LIEN_REGISTRATION)
    report(lien, PartnerStepStatus.DONE)
    # GPS installation is still requested, but not required: the lien alone held the stage.
    moved = services.lien_mark_registered(application=application, actor=operations)
    assert moved.stage == Stage.DISBURSEMENT


def test_a_withdrawal_is_not_held_by_open_steps(signing, customer):
    application = services.application_withdraw(application=signing, actor=customer)
    assert application.stage == Stage.WITHDRAWN


# --- Reports: progress, failure, asked again --------------------------------------------------------


def test_each_report_is_a_history_event_and_the_chain_still_verifies(signing):
    head = LoanApplication.objects.get(pk=signing.pk).history_head
    step = report(
        step_of(signing, PartnerStepKind.E_SIGNATURE), PartnerStepStatus.IN_PROGRESS, note="ticket 42"
    )
    event = signing.events.order_by("-sequence").first()
    assert event.kind == EventKind.PARTNER
    assert event.data["status"] == PartnerStepStatus.IN_PROGRESS and event.data["step"] == step.pk
    assert "partner" not in event.data  # the partner's name stays with staff
    assert LoanApplication.objects.get(pk=signing.pk).history_head != head
    assert dict(verify_chains())[signing.reference] is None


def test_the_same_status_again_changes_nothing(signing):
    step = step_of(signing, PartnerStepKind.E_SIGNATURE)
    report(step, PartnerStepStatus.IN_PROGRESS)
    count = signing.events.count()
    report(step, PartnerStepStatus.IN_PROGRESS)
    assert signing.events.count() == count


def test_a_done_step_cannot_fail_afterwards(signing):
    step = report(step_of(signing, PartnerStepKind.E_SIGNATURE), PartnerStepStatus.DONE)
    assert step.finished_at is not None
    with pytest.raises(TransitionRefused, match="cannot become"):
        report(step, PartnerStepStatus.FAILED)


def test_a_failed_step_records_its_cause_as_the_files_cause_of_delay(signing):
    step = report(step_of(signing, PartnerStepKind.INSURANCE_POLICY), PartnerStepStatus.FAILED)
    assert step.failure_cause.code == "partner_step_failed"
    application = LoanApplication.objects.get(pk=signing.pk)
    assert application.delay_reason.code == "partner_step_failed"
    last = application.events.order_by("-sequence").first()
    assert last.kind == EventKind.DELAY and last.reason_code == "partner_step_failed"
    assert application.partner_steps_waiting == 2  # a failed step is not done: the stage still waits


def test_a_failure_with_a_cause_from_the_catalogue_records_that_cause(signing):
    cause = Reason.objects.get(code="third_party_wait")
    report(step_of(signing, PartnerStepKind.INSURANCE_POLICY), PartnerStepStatus.FAILED, cause=cause)
    assert LoanApplication.objects.get(pk=signing.pk).delay_reason == cause


def test_a_failed_step_asked_again_gets_a_new_clock(signing):
    step = report(
        step_of(signing, PartnerStepKind.INSURANCE_POLICY), PartnerStepStatus.FAILED, now=at(2026, 3, 9, 10)
    )
    again = report(step, PartnerStepStatus.REQUESTED, now=at(2026, 3, 9, 11))
    assert again.requested_at == at(2026, 3, 9, 11)
    assert again.due_at == at(2026, 3, 10, 11)  # nine working hours later
    assert again.failure_cause is None and again.finished_at is None


# --- Who may record a partner's answer ----------------------------------------------------------------


def test_staff_of_the_stage_and_managers_record_a_step_others_may_not(signing, cast):
    step = step_of(signing, PartnerStepKind.E_SIGNATURE)
    for name in ("customer", "other_customer", "dealer", "reviewer", "approver", "finance"):
        with pytest.raises(PermissionDenied):
            report(step, PartnerStepStatus.IN_PROGRESS, actor=cast[name])
    report(step, PartnerStepStatus.IN_PROGRESS, actor=cast["operations"])
    report(step, PartnerStepStatus.DONE, actor=cast["manager"])
    actors = list(signing.events.filter(kind=EventKind.PARTNER).values_list("actor__username", flat=True))
    assert actors[-2:] == ["operations", "manager"]


# --- The clock ----------------------------------------------------------------------------------------


def test_the_clock_marks_an_open_step_at_risk_then_breached_once_each(signing):
    report(step_of(signing, PartnerStepKind.E_SIGNATURE), PartnerStepStatus.DONE)
    insurance = step_of(signing, PartnerStepKind.INSURANCE_POLICY)  # due Monday 17:00
    assert partner_steps_sla_advance(now=at(2026, 3, 9, 14), batch=100) == ()
    first = partner_steps_sla_advance(now=at(2026, 3, 9, 15, 30), batch=100)
    assert [(c.step_id, c.sla_state) for c in first] == [(insurance.pk, SlaState.AT_RISK)]
    assert partner_steps_sla_advance(now=at(2026, 3, 9, 15, 31), batch=100) == ()
    breached = partner_steps_sla_advance(now=at(2026, 3, 9, 17), batch=100)
    assert [(c.step_id, c.sla_state) for c in breached] == [(insurance.pk, SlaState.BREACHED)]
    assert partner_steps_sla_advance(now=at(2026, 3, 9, 18), batch=100) == ()
    assert step_of(signing, PartnerStepKind.INSURANCE_POLICY).sla_state == SlaState.BREACHED


def test_the_clock_leaves_done_steps_and_steps_of_a_stay_that_ended(signing, customer):
    report(step_of(signing, PartnerStepKind.E_SIGNATURE), PartnerStepStatus.DONE)
    services.application_withdraw(application=signing, actor=customer)
    assert partner_steps_sla_advance(now=at(2026, 4, 1, 12), batch=100) == ()


# --- The customer's timeline --------------------------------------------------------------------------


def lien_registration(signing, operations) -> LoanApplication:
    for kind in (PartnerStepKind.E_SIGNATURE, PartnerStepKind.INSURANCE_POLICY):
        report(step_of(signing, kind), PartnerStepStatus.DONE)
    return services.contract_mark_signed(application=signing, actor=operations)


def test_the_timeline_shows_each_step_as_a_sub_step_in_plain_words(client, signing, customer, operations):
    application = lien_registration(signing, operations)
    client.force_login(customer)
    english = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "The vehicle registry is registering the lien: usually 2 working days" in english
    assert "The installer is fitting the vehicle's GPS tracker: usually 1 working day" in english
    assert "Vehicle registry" not in english  # the partner's name is the staff's
    client.cookies.clear()
    client.force_login(customer)
    chinese = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "车辆管理所正在办理抵押登记：通常需要 2 个工作日" in chinese
    assert "合作机构办理进度" in chinese


def test_a_sub_step_moves_on_with_the_partners_report_and_the_page_changes(
    client, signing, customer, operations
):
    application = lien_registration(signing, operations)
    client.force_login(customer)
    before = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    report(step_of(application, PartnerStepKind.LIEN_REGISTRATION), PartnerStepStatus.DONE)
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "The vehicle registry has registered the lien Done" in page
    assert "The vehicle registry is registering the lien: usually" not in page
    assert before.content != page


def test_a_failed_step_says_it_is_being_redone_and_the_delay_says_why(client, signing, customer):
    report(step_of(signing, PartnerStepKind.INSURANCE_POLICY), PartnerStepStatus.FAILED)
    client.force_login(customer)
    page = text_of(client.get(detail_url(signing), HTTP_ACCEPT_LANGUAGE="en"))
    assert (
        "The insurer is issuing the vehicle's insurance policy: it has to be done again, and we are "
        "following it up Being redone" in page
    )
    assert "Delayed: A partner's step has to be done again" in page


def test_the_earlier_stages_steps_leave_the_timeline_with_the_stage(client, signing, customer, operations):
    application = lien_registration(signing, operations)
    client.force_login(customer)
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    sub_steps = page.split("Steps with our partners", 1)[1].split("History", 1)[0]
    assert "insurance policy" not in sub_steps
    assert "The insurer has issued the vehicle's insurance policy" in page  # in the history


def test_another_customer_sees_no_sub_steps_of_a_file_not_theirs(client, signing, other_customer):
    client.force_login(other_customer)
    assert client.get(detail_url(signing)).status_code == 404


# --- The sandbox partner --------------------------------------------------------------------------------


def test_the_sandbox_partner_answers_each_step_after_the_configured_delay(
    customer, dealer, reviewer, approver, settings, django_capture_on_commit_callbacks
):
    settings.PARTNER_SANDBOX = True
    settings.PARTNER_SANDBOX_DELAY_SECONDS = 7
    with (
        mock.patch("applications.tasks.partner_sandbox_answer.apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        application = contract_signing(customer, dealer, reviewer, approver, now=at(2026, 3, 6, 17))
    steps = set(application.partner_steps.filter(stage=Stage.CONTRACT_SIGNING).values_list("pk", flat=True))
    asked = {call.args[0][0]: call for call in queued.call_args_list}
    assert steps <= set(asked)  # and the review's credit report, requested earlier
    for step_id in steps:
        assert asked[step_id].args[0][1] == PartnerStepStatus.IN_PROGRESS
        assert asked[step_id].kwargs == {"countdown": 7}


def test_the_sandbox_task_moves_a_step_under_way_then_done(signing, settings):
    from applications.tasks import partner_sandbox_answer

    step = step_of(signing, PartnerStepKind.INSURANCE_POLICY)
    # Eager in tests: the "done" the task queues runs at once instead of after the delay.
    assert partner_sandbox_answer(step.pk, PartnerStepStatus.IN_PROGRESS) == PartnerStepStatus.IN_PROGRESS
    step.refresh_from_db()
    assert step.status == PartnerStepStatus.DONE
    statuses = [
        e.data["status"]
        for e in signing.events.filter(kind=EventKind.PARTNER).order_by("sequence")
        if e.data["step"] == step.pk
    ]
    assert statuses == [PartnerStepStatus.REQUESTED, PartnerStepStatus.IN_PROGRESS, PartnerStepStatus.DONE]


def test_the_sandbox_leaves_a_step_staff_finished_and_a_file_that_moved_on(signing, customer):
    from applications.tasks import partner_sandbox_answer

    step = report(step_of(signing, PartnerStepKind.INSURANCE_POLICY), PartnerStepStatus.FAILED)
    assert partner_sandbox_answer(step.pk, PartnerStepStatus.IN_PROGRESS) == "left alone"
    signature = step_of(signing, PartnerStepKind.E_SIGNATURE)
    services.application_withdraw(application=signing, actor=customer)
    assert partner_sandbox_answer(signature.pk, PartnerStepStatus.IN_PROGRESS) == "left alone"
    assert step_of(signing, PartnerStepKind.E_SIGNATURE).status == PartnerStepStatus.REQUESTED


def test_sub_steps_cost_the_timeline_no_query(client, customer, dealer, reviewer, approver, settings):
    """The sub-steps are read from the history the timeline loads anyway: a file with partner
    steps costs the same queries as one without (the hook off)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with_steps = contract_signing(customer, dealer, reviewer, approver, now=at(2026, 3, 6, 17))
    settings.LOANPORTAL_STAGE_HOOKS = [h for h in settings.LOANPORTAL_STAGE_HOOKS if h != HOOK]
    without = contract_signing(customer, dealer, reviewer, approver, now=at(2026, 3, 6, 17))
    assert not without.partner_steps.filter(stage=Stage.CONTRACT_SIGNING).exists()
    client.force_login(customer)
    counts = []
    for application in (with_steps, without, with_steps):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[1] == counts[2]  # warm: the same, steps or none
    assert "Steps with our partners" in response.content.decode()
