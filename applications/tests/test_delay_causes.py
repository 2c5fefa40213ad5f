"""Causes of delay (``services.delay_cause_set`` and the causes the portal sets itself): who may set
one, that only a delay reason from the catalogue will do, that each is a history event, that the
customer hears of it once, and that a stage change clears it and keeps it on the stay it ended."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from applications import services
from applications.bureau import BureauUnavailable
from applications.choices import EventKind, Stage
from applications.models import LoanApplication, Reason
from applications.services import ReasonRequired, TransitionRefused
from applications.sla import SlaState
from applications.tests.factories import (
    awaiting_documents,
    detail_url,
    in_review,
    make_draft,
    put_required_documents,
    text_of,
)
from notifications.models import Notification

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def reason(code: str) -> Reason:
    return Reason.objects.get(code=code)


def delay_notices(application: LoanApplication) -> list[Notification]:
    return list(Notification.objects.filter(application=application, kind="delay_notice").order_by("pk"))


@pytest.fixture
def reviewing(customer, dealer) -> LoanApplication:
    return in_review(customer, dealer)


def test_a_reviewer_sets_the_cause_and_it_is_an_event_in_the_history(reviewing, reviewer):
    application = services.delay_cause_set(
        application=reviewing, reason=reason("additional_verification"), actor=reviewer, note="called twice"
    )
    assert application.delay_reason.code == "additional_verification"
    event = application.events.latest("sequence")
    assert (event.kind, event.transition, event.actor, event.reason_code, event.note) == (
        EventKind.DELAY,
        "delay_cause",
        reviewer,
        "additional_verification",
        "called twice",
    )
    assert (event.from_stage, event.to_stage) == (Stage.UNDER_REVIEW, Stage.UNDER_REVIEW)
    assert application.history_head == event.hash and application.event_count == event.sequence


def test_the_customer_is_told_the_cause_once(reviewing, reviewer, manager):
    services.delay_cause_set(application=reviewing, reason=reason("additional_verification"), actor=reviewer)
    # The same cause again changes nothing; a manager's different cause is news.
    services.delay_cause_set(application=reviewing, reason=reason("additional_verification"), actor=manager)
    services.delay_cause_set(application=reviewing, reason=reason("high_volume"), actor=manager)
    assert [n.context["reason"] for n in delay_notices(reviewing)] == [
        "additional_verification",
        "high_volume",
    ]
    assert reviewing.events.filter(kind=EventKind.DELAY).count() == 2


def test_only_a_delay_reason_from_the_catalogue_will_do(reviewing, reviewer):
    with pytest.raises(ReasonRequired):
        services.delay_cause_set(application=reviewing, reason=reason("dti_too_high"), actor=reviewer)
    retired = reason("third_party_wait")
    retired.is_active = False
    retired.save()
    with pytest.raises(ReasonRequired):
        services.delay_cause_set(application=reviewing, reason=retired, actor=reviewer)
    reviewing.refresh_from_db()
    assert reviewing.delay_reason is None and not delay_notices(reviewing)


def test_staff_of_another_stage_and_customers_may_not_set_a_cause(reviewing, finance, customer, approver):
    for outsider in (finance, customer, approver):
        with pytest.raises(PermissionDenied):
            services.delay_cause_set(application=reviewing, reason=reason("high_volume"), actor=outsider)
    assert not reviewing.events.filter(kind=EventKind.DELAY).exists()


def test_a_manager_may_set_a_cause_at_any_stage(reviewing, manager):
    application = services.delay_cause_set(application=reviewing, reason=reason("high_volume"), actor=manager)
    assert application.delay_reason.code == "high_volume"


def test_a_closed_application_has_no_delay(reviewing, customer, manager):
    services.application_withdraw(application=reviewing, actor=customer)
    with pytest.raises(TransitionRefused):
        services.delay_cause_set(application=reviewing, reason=reason("high_volume"), actor=manager)


def test_a_stage_change_clears_the_cause_and_keeps_it_on_the_stay_it_ended(reviewing, reviewer):
    services.delay_cause_set(application=reviewing, reason=reason("additional_verification"), actor=reviewer)
    moved = services.review_recommend(application=reviewing, actor=reviewer)
    assert moved.stage == Stage.APPROVAL and moved.delay_reason is None
    left = moved.events.filter(kind=EventKind.TRANSITION).latest("sequence")
    assert left.data["delay_reason"] == "additional_verification"


def test_waiting_for_the_customers_documents_is_recorded_quietly(customer, dealer, reviewer):
    application = awaiting_documents(customer, dealer, reviewer)
    assert application.delay_reason.code == "awaiting_documents"
    event = application.events.filter(kind=EventKind.DELAY).get()
    assert (event.actor, event.reason_code) == (None, "awaiting_documents")
    # The documents request already tells the customer: no second message.
    assert not delay_notices(application)


def test_the_credit_bureau_not_answering_is_the_cause_while_the_precheck_waits(customer, dealer, settings):
    settings.CREDIT_BUREAU_ADAPTER = "applications.tests.test_delay_causes.DownBureau"
    draft = make_draft(customer=customer, dealer=dealer)
    put_required_documents(draft, uploaded_by=customer)
    application = services.application_submit(application=draft, actor=customer)
    with pytest.raises(BureauUnavailable):
        services.precheck_run(application_id=application.pk)
    with pytest.raises(BureauUnavailable):  # the task's retry: still one event, one message
        services.precheck_run(application_id=application.pk)
    application.refresh_from_db()
    assert (application.stage, application.delay_reason.code) == (Stage.CREDIT_CHECK, "bureau_unavailable")
    assert application.events.filter(kind=EventKind.DELAY).count() == 1
    assert [n.context["reason"] for n in delay_notices(application)] == ["bureau_unavailable"]


class DownBureau:
    def report(self, *, id_number: str, full_name: str):
        raise BureauUnavailable("the bureau is down")


# --- The SLA clock finds a stage overdue with no cause ------------------------------------------

# Entered review Monday 2 March 2026 09:00; 24 working hours → due Wednesday 4 March 15:00.


def entered_review(customer, dealer) -> LoanApplication:
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        return in_review(customer, dealer)


def test_overdue_in_working_hours_the_cause_is_the_reviewer_backlog(customer, dealer):
    application = entered_review(customer, dealer)
    with time_machine.travel(at(2026, 3, 4, 15, 30), tick=False):
        changes = services.sla_advance(now=at(2026, 3, 4, 15, 30), batch=10)
    assert [(c.sla_state, c.delay_reason) for c in changes.changed] == [(SlaState.BREACHED, "high_volume")]
    application.refresh_from_db()
    assert application.delay_reason.code == "high_volume"
    event = application.events.latest("sequence")
    assert (event.kind, event.actor, event.reason_code) == (EventKind.DELAY, None, "high_volume")
    assert application.history_head == event.hash  # the chain still holds (bulk-written)


def test_overdue_outside_working_hours_the_cause_says_so(customer, dealer):
    application = entered_review(customer, dealer)
    evening = at(2026, 3, 4, 19)  # due at 15:00; first seen by the clock after 18:00
    changes = services.sla_advance(now=evening, batch=10)
    assert [c.delay_reason for c in changes.changed] == ["outside_working_hours"]
    application.refresh_from_db()
    assert application.delay_reason.code == "outside_working_hours"


def test_next_morning_a_file_still_overdue_waits_on_the_backlog_instead(customer, dealer):
    application = entered_review(customer, dealer)
    services.sla_advance(now=at(2026, 3, 4, 19), batch=10)
    assert services.sla_advance(now=at(2026, 3, 5, 8, 30), batch=10) == services.SlaChanges()
    application.refresh_from_db()
    assert application.delay_reason.code == "outside_working_hours"  # still before 09:00
    services.sla_advance(now=at(2026, 3, 5, 9, 5), batch=10)
    application.refresh_from_db()
    assert application.delay_reason.code == "high_volume"
    event = application.events.latest("sequence")
    assert (event.kind, event.actor, event.data["previous"]) == (
        EventKind.DELAY,
        None,
        "outside_working_hours",
    )


def test_overdue_on_a_public_holiday_the_cause_is_outside_working_hours(customer, dealer):
    # Due Wednesday 30 September 2026 (a working day); National Day, 1 October, is a holiday.
    with time_machine.travel(at(2026, 9, 28, 9), tick=False):
        application = in_review(customer, dealer)
    holiday_noon = at(2026, 10, 1, 12)
    changes = services.sla_advance(now=holiday_noon, batch=10)
    assert [c.delay_reason for c in changes.changed] == ["outside_working_hours"]
    application.refresh_from_db()
    assert application.delay_reason.code == "outside_working_hours"


def test_a_cause_staff_gave_is_kept_when_the_stage_runs_over(customer, dealer, reviewer):
    application = entered_review(customer, dealer)
    services.delay_cause_set(
        application=application,
        reason=reason("additional_verification"),
        actor=reviewer,
        now=at(2026, 3, 3, 10),
    )
    changes = services.sla_advance(now=at(2026, 3, 4, 15, 30), batch=10)
    assert [c.delay_reason for c in changes.changed] == ["additional_verification"]
    assert application.events.filter(kind=EventKind.DELAY).count() == 1


# --- What the customer sees ---------------------------------------------------------------------


def test_the_timeline_shows_the_cause_its_remedy_and_the_event_but_never_the_staff_note(
    client, reviewing, customer, reviewer
):
    services.delay_cause_set(
        application=reviewing, reason=reason("additional_verification"), actor=reviewer, note="INTERNAL-42"
    )
    client.force_login(customer)
    page = text_of(client.get(detail_url(reviewing)))
    # In the customer's language (Chinese, the default).
    assert "办理延迟：需要进一步核实信息" in page
    assert "我们可能会致电核实，请保持电话畅通。" in page
    assert "此步骤用时较长的原因" in page  # the history's entry, in the registry's words
    assert "INTERNAL-42" not in page


def test_waiting_for_documents_shows_its_cause_on_the_timeline(client, customer, dealer, reviewer):
    application = awaiting_documents(customer, dealer, reviewer)
    client.force_login(customer)
    page = text_of(client.get(detail_url(application)))
    assert "办理延迟：我们正在等待您补充资料" in page
    assert "请上传本页列出的资料，资料齐全后我们会立即继续审核。" in page


def test_the_sweeps_delay_notice_tells_the_customer_the_cause_it_recorded_and_the_chain_holds(
    customer, dealer
):
    from applications.history import verify_chains
    from notifications import texts
    from notifications.services import sla_sweep

    application = entered_review(customer, dealer)
    sla_sweep(now=at(2026, 3, 4, 19))  # overdue, first seen in the evening
    (notice,) = delay_notices(application)
    assert notice.context["reason"] == "outside_working_hours"
    body = texts.render(notice).body
    assert "It is outside our working hours or a public holiday" in body
    assert "We continue on the next working day; you need do nothing." in body
    sla_sweep(now=at(2026, 3, 4, 19, 5))  # a second pass: nothing new for the customer
    assert len(delay_notices(application)) == 1
    assert dict(verify_chains()) == {application.reference: None}
