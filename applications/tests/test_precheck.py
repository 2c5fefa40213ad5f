"""The automatic pre-check: each rule with its reason code, and where the application goes next."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from applications import services
from applications.bureau import CreditReport, SandboxBureau
from applications.choices import EventKind, Powertrain, Stage
from applications.models import BlacklistEntry
from applications.precheck import PrecheckInput, add_months, age_on, evaluate
from common.pii import keyed_hash

from .factories import make_draft, put_required_documents, valid_id_number

GOOD_REPORT = CreditReport(score=720, monthly_debt=Decimal("0"), overdue_accounts=0, source="test")


def inputs(**changes) -> PrecheckInput:
    base = {
        "birth_date": dt.date(1990, 3, 7),
        "today": dt.date(2026, 11, 30),
        "term_months": 36,
        "vehicle_price": Decimal("200000"),
        "down_payment": Decimal("40000"),
        "min_down_payment_ratio": Decimal("0.20"),
        "requested_amount": Decimal("160000"),
        "max_rate": Decimal("0.0899"),
        "monthly_income": Decimal("20000"),
        "stated_monthly_debt": Decimal("1000"),
        "blacklisted": False,
        "report": GOOD_REPORT,
    }
    return PrecheckInput(**{**base, **changes})


def test_a_sound_application_passes():
    result = evaluate(inputs())
    assert result.passed
    assert result.facts["age_at_loan_end"] == "39"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"birth_date": dt.date(2009, 1, 1)}, "age_out_of_range"),  # 17 today
        ({"birth_date": dt.date(1963, 1, 1), "term_months": 36}, "age_out_of_range"),  # 66 at the end
        ({"down_payment": Decimal("39999")}, "down_payment_too_low"),  # 19.99 %
        ({"blacklisted": True}, "risk_check_failed"),
        ({"report": CreditReport(500, Decimal("0"), 0, "test")}, "credit_history"),
        ({"report": CreditReport(700, Decimal("0"), 2, "test")}, "credit_history"),
        ({"monthly_income": Decimal("9000")}, "dti_too_high"),
        ({"stated_monthly_debt": Decimal("8000")}, "dti_too_high"),
        ({"monthly_income": Decimal("0")}, "dti_too_high"),
    ],
)
def test_each_rule_refuses_with_its_reason(changes, reason):
    result = evaluate(inputs(**changes))
    assert result.reasons == [reason]


def test_age_limits_are_inclusive():
    # 18 today and exactly 65 at the loan's end both pass.
    assert evaluate(inputs(birth_date=dt.date(2008, 11, 30), monthly_income=Decimal("50000"))).passed
    assert evaluate(inputs(birth_date=dt.date(1964, 11, 30), term_months=36)).passed


def test_the_bureau_reported_debt_counts_when_it_is_larger():
    heavy = CreditReport(700, Decimal("8000"), 0, "test")
    assert evaluate(inputs(report=heavy)).reasons == ["dti_too_high"]


def test_new_energy_minimum_down_payment_is_lower():
    assert evaluate(inputs(down_payment=Decimal("30000"), min_down_payment_ratio=Decimal("0.15"))).passed


def test_date_helpers():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 36) == dt.date(2029, 11, 30)
    assert age_on(dt.date(1990, 12, 1), dt.date(2026, 11, 30)) == 35


def test_sandbox_bureau_is_deterministic_and_steerable():
    bureau = SandboxBureau()
    good = valid_id_number(serial="123")
    assert bureau.report(id_number=good, full_name="x") == bureau.report(id_number=good, full_name="y")
    assert bureau.report(id_number=good, full_name="x").score >= 600
    assert bureau.report(id_number=valid_id_number(serial="912"), full_name="x").score < 550


def _submit(application, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    return application


def _upload_all_required(application, user):
    put_required_documents(application, uploaded_by=user)


def test_submission_runs_the_precheck_after_commit_and_asks_for_missing_documents(
    draft, customer, django_capture_on_commit_callbacks
):
    application = _submit(draft, customer, django_capture_on_commit_callbacks)
    assert application.stage == Stage.AWAITING_DOCUMENTS
    event = application.events.filter(kind=EventKind.TRANSITION).latest("sequence")
    assert event.transition == "precheck_needs_documents"
    assert event.data["missing_documents"] == [
        "driving_licence",
        "id_card_back",
        "id_card_front",
        "income_proof",
    ]
    # The file now waits for the customer's documents, and says so (``delays``).
    assert [e.transition for e in application.events.order_by("sequence")][-4:] == [
        "submit",
        "start_credit_check",
        "precheck_needs_documents",
        "delay_cause",
    ]
    assert application.delay_reason.code == "awaiting_documents"


def test_complete_sound_application_goes_to_review(draft, customer, django_capture_on_commit_callbacks):
    _upload_all_required(draft, customer)
    application = _submit(draft, customer, django_capture_on_commit_callbacks)
    assert application.stage == Stage.UNDER_REVIEW
    assert application.events.latest("sequence").data["facts"]["debt_to_income"]


def test_blacklisted_applicant_is_rejected_with_a_neutral_reason(
    draft, customer, django_capture_on_commit_callbacks
):
    BlacklistEntry.objects.create(id_number_hash=keyed_hash(draft.applicant.id_number), note="fraud 2025")
    application = _submit(draft, customer, django_capture_on_commit_callbacks)
    assert application.stage == Stage.REJECTED
    assert application.closing_reason == "risk_check_failed"


def test_poor_credit_history_is_rejected(customer, dealer, django_capture_on_commit_callbacks):
    application = make_draft(customer=customer, dealer=dealer, id_number=valid_id_number(serial="934"))
    application = _submit(application, customer, django_capture_on_commit_callbacks)
    assert (application.stage, application.closing_reason) == (Stage.REJECTED, "credit_history")


def test_new_energy_vehicle_with_15_percent_down_passes(customer, dealer, django_capture_on_commit_callbacks):
    application = make_draft(
        customer=customer,
        dealer=dealer,
        product_code="green_nev",
        powertrain=Powertrain.BATTERY_ELECTRIC,
        down_payment=Decimal("30000.00"),
        requested_amount=Decimal("170000.00"),
    )
    _upload_all_required(application, customer)
    assert _submit(application, customer, django_capture_on_commit_callbacks).stage == Stage.UNDER_REVIEW


def test_running_the_precheck_twice_changes_nothing_the_second_time(draft, customer):
    services.application_submit(application=draft, actor=customer)
    first = services.precheck_run(application_id=draft.pk)
    events = first.events.count()
    second = services.precheck_run(application_id=draft.pk)
    assert second.stage == first.stage
    assert second.events.count() == events


def test_the_sweep_finds_prechecks_that_should_have_finished(draft, customer):
    from django.utils import timezone

    services.application_submit(application=draft, actor=customer)
    assert services.precheck_stuck_ids() == []
    later = timezone.now() + dt.timedelta(minutes=3)
    assert services.precheck_stuck_ids(now=later) == [draft.pk]


def test_the_sweep_queues_a_stuck_precheck_once_then_again_only_after_a_while(draft, customer, settings):
    """A backlog of pre-checks (a long broker outage, a slow bureau) must not be queued again every
    minute: the queue would grow faster than one worker empties it, and a new customer's
    submission would wait behind the same files many times over."""
    from django.utils import timezone

    services.application_submit(application=draft, actor=customer)
    later = timezone.now() + dt.timedelta(minutes=3)
    assert services.precheck_requeue_claim(now=later) == [draft.pk]
    # The next minute's passes leave it alone: it is already in the queue.
    assert services.precheck_requeue_claim(now=later + dt.timedelta(minutes=1)) == []
    assert services.precheck_requeue_claim(now=later + dt.timedelta(minutes=9)) == []
    # Still not done ten minutes on (the message was lost): queued once more.
    again = later + dt.timedelta(seconds=settings.PRECHECK_REQUEUE_AFTER_SECONDS)
    assert services.precheck_requeue_claim(now=again) == [draft.pk]


def test_the_sweep_queues_at_most_a_batch_a_pass_oldest_first(customer, dealer, settings):
    from django.utils import timezone

    settings.PRECHECK_SWEEP_BATCH = 2
    files = []
    for minutes in (30, 20, 10):
        with time_machine.travel(timezone.now() - dt.timedelta(minutes=minutes)):
            draft = make_draft(customer=customer, dealer=dealer)
            files.append(services.application_submit(application=draft, actor=customer))
    first = services.precheck_requeue_claim()
    assert first == [files[0].pk, files[1].pk]
    assert services.precheck_requeue_claim() == [files[2].pk]


def test_a_broker_outage_does_not_fail_the_submission(
    draft, customer, monkeypatch, django_capture_on_commit_callbacks
):
    from applications import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.precheck_run, "delay", broker_down)
    application = _submit(draft, customer, django_capture_on_commit_callbacks)
    assert application.stage == Stage.SUBMITTED  # the sweep will pick it up
