"""The state machine: who may take which transition from which stage, and what a refusal leaves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from applications import services
from applications.choices import FINAL_STAGES, MILESTONES, DocumentStatus, EventKind, Stage, milestone_of
from applications.models import Document, DocumentType, LoanApplication, Reason, StageEvent

from .factories import make_draft

SYSTEM = "system"


def reason(code: str) -> Reason:
    return Reason.objects.get(code=code)


# transition -> (service call taking (application, actor), source stages, roles allowed)
TRANSITIONS = {
    "submit": (
        lambda app, actor: services.application_submit(application=app, actor=actor),
        {Stage.DRAFT},
        {"customer", "dealer"},
    ),
    "start_credit_check": (
        lambda app, actor: (
            services.precheck_start(application=app)
            if actor is None
            else services._transition(application=app, name="start_credit_check", actor=actor)
        ),
        {Stage.SUBMITTED},
        {SYSTEM},
    ),
    "pass_precheck": (
        lambda app, actor: (
            services.precheck_pass(application=app)
            if actor is None
            else services._transition(application=app, name="pass_precheck", actor=actor)
        ),
        {Stage.CREDIT_CHECK},
        {SYSTEM},
    ),
    "fail_precheck": (
        lambda app, actor: (
            services.precheck_reject(application=app, reason=reason("dti_too_high"))
            if actor is None
            else services._transition(
                application=app, name="fail_precheck", actor=actor, reason=reason("dti_too_high")
            )
        ),
        {Stage.CREDIT_CHECK},
        {SYSTEM},
    ),
    "precheck_needs_documents": (
        lambda app, actor: (
            services.precheck_request_documents(application=app)
            if actor is None
            else services._transition(application=app, name="precheck_needs_documents", actor=actor)
        ),
        {Stage.CREDIT_CHECK},
        {SYSTEM},
    ),
    "request_documents": (
        lambda app, actor: services.review_request_documents(
            application=app,
            actor=actor,
            document_types=[DocumentType.objects.get(code="bank_statement")],
            reason=reason("more_income_proof"),
        ),
        {Stage.UNDER_REVIEW},
        {"reviewer"},
    ),
    "resume_review": (
        lambda app, actor: services.review_resume(application=app, actor=actor),
        {Stage.AWAITING_DOCUMENTS},
        {"customer", "reviewer"},
    ),
    "recommend_approval": (
        lambda app, actor: services.review_recommend(application=app, actor=actor),
        {Stage.UNDER_REVIEW},
        {"reviewer"},
    ),
    "reject_in_review": (
        lambda app, actor: services.review_reject(
            application=app, actor=actor, reason=reason("credit_history")
        ),
        {Stage.UNDER_REVIEW},
        {"reviewer"},
    ),
    "return_to_review": (
        lambda app, actor: services.approval_return(application=app, actor=actor),
        {Stage.APPROVAL},
        {"approver"},
    ),
    "approve": (
        lambda app, actor: services.approval_approve(
            application=app, actor=actor, amount=Decimal("140000.00"), rate=Decimal("0.0588"), term_months=36
        ),
        {Stage.APPROVAL},
        {"approver"},
    ),
    "decline": (
        lambda app, actor: services.approval_decline(
            application=app, actor=actor, reason=reason("dti_too_high")
        ),
        {Stage.APPROVAL},
        {"approver"},
    ),
    "accept_offer": (
        # The buyer's own answer: the dealership's staff see the offer, never answer it for them.
        lambda app, actor: services.offer_accept(application=app, actor=actor),
        {Stage.OFFER_PENDING},
        {"customer"},
    ),
    "decline_offer": (
        # The buyer's own answer: the dealership's staff see the offer, never answer it for them.
        lambda app, actor: services.offer_decline(application=app, actor=actor),
        {Stage.OFFER_PENDING},
        {"customer"},
    ),
    "sign_contract": (
        lambda app, actor: services.contract_mark_signed(application=app, actor=actor),
        {Stage.CONTRACT_SIGNING},
        {"operations"},
    ),
    "register_lien": (
        lambda app, actor: services.lien_mark_registered(application=app, actor=actor),
        {Stage.LIEN_REGISTRATION},
        {"operations"},
    ),
    "disburse": (
        lambda app, actor: services.disbursement_release(application=app, actor=actor),
        {Stage.DISBURSEMENT},
        {"finance"},
    ),
    "withdraw": (
        lambda app, actor: services.application_withdraw(application=app, actor=actor),
        {
            Stage.DRAFT,
            Stage.SUBMITTED,
            Stage.CREDIT_CHECK,
            Stage.UNDER_REVIEW,
            Stage.AWAITING_DOCUMENTS,
            Stage.APPROVAL,
            Stage.CONTRACT_SIGNING,
        },
        {"customer", "dealer"},
    ),
    "expire": (
        lambda app, actor: (
            services.application_expire(application=app)
            if actor is None
            else services._transition(application=app, name="expire", actor=actor)
        ),
        {Stage.DRAFT, Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING},
        {SYSTEM},
    ),
}

TARGETS = {
    "submit": Stage.SUBMITTED,
    "start_credit_check": Stage.CREDIT_CHECK,
    "pass_precheck": Stage.UNDER_REVIEW,
    "fail_precheck": Stage.REJECTED,
    "precheck_needs_documents": Stage.AWAITING_DOCUMENTS,
    "request_documents": Stage.AWAITING_DOCUMENTS,
    "resume_review": Stage.UNDER_REVIEW,
    "recommend_approval": Stage.APPROVAL,
    "reject_in_review": Stage.REJECTED,
    "return_to_review": Stage.UNDER_REVIEW,
    "approve": Stage.OFFER_PENDING,
    "decline": Stage.REJECTED,
    "accept_offer": Stage.CONTRACT_SIGNING,
    "decline_offer": Stage.WITHDRAWN,
    "sign_contract": Stage.LIEN_REGISTRATION,
    "register_lien": Stage.DISBURSEMENT,
    "disburse": Stage.DISBURSED,
    "withdraw": Stage.WITHDRAWN,
    "expire": Stage.EXPIRED,
}


def place_at(application: LoanApplication, stage: str) -> LoanApplication:
    """Test set-up only: put an application at a stage without its history (a raw UPDATE that the
    product never does), with every document on file so that document conditions hold."""
    for doc_type in DocumentType.objects.all():
        Document.objects.create(
            application=application,
            document_type=doc_type,
            file=f"documents/{application.reference}/x",
            original_name="x.pdf",
            content_type="application/pdf",
            size=1,
            status=DocumentStatus.ACCEPTED,
            uploaded_by=application.customer,
        )
    LoanApplication.objects.filter(pk=application.pk).update(stage=stage)
    return LoanApplication.objects.get(pk=application.pk)


def test_the_table_names_every_transition_of_the_model():
    declared = {t.name for t in LoanApplication._meta.get_field("stage").get_all_transitions(LoanApplication)}
    assert declared == set(TRANSITIONS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
@pytest.mark.parametrize("stage", Stage.values)
def test_transition_from_stage_by_each_role(name, stage, cast):
    call, sources, allowed = TRANSITIONS[name]
    application = place_at(
        make_draft(customer=cast["customer"], dealer=cast["dealer"].dealerships.get()), stage
    )
    events_before = StageEvent.objects.filter(application=application).count()
    legal = stage in sources
    actors = {**cast, SYSTEM: None}
    refused = [role for role in actors if not (legal and role in allowed)]
    for role in refused:
        with pytest.raises((services.TransitionError, PermissionDenied)):
            call(application, actors[role])
        application.refresh_from_db()
        assert application.stage == stage, f"{role} moved {stage} with {name}"
        assert StageEvent.objects.filter(application=application).count() == events_before
    if legal:
        role = sorted(allowed)[0]
        result = call(application, actors[role])
        assert result.stage == TARGETS[name]
        event = StageEvent.objects.filter(application=application, kind=EventKind.TRANSITION).latest(
            "sequence"
        )
        assert (event.from_stage, event.to_stage, event.transition) == (stage, TARGETS[name], name)
        assert event.actor == actors[role]


def test_stage_cannot_be_assigned_directly(draft):
    with pytest.raises(AttributeError):
        draft.stage = Stage.DISBURSED


def test_every_open_stage_belongs_to_exactly_one_milestone():
    for stage in Stage:
        belongs = [m.number for m in MILESTONES if stage in m.stages]
        assert len(belongs) == (0 if stage in FINAL_STAGES - {Stage.DISBURSED} else 1), stage
    assert milestone_of(Stage.APPROVAL).number == 3
    assert milestone_of(Stage.REJECTED) is None


def test_stale_copy_is_refused_with_a_clear_message(draft, customer):
    stale = LoanApplication.objects.get(pk=draft.pk)
    services.application_submit(application=draft, actor=customer)
    with pytest.raises(services.StaleApplication, match="moved on"):
        services.application_withdraw(application=stale, actor=customer)
    stale.refresh_from_db()
    assert stale.stage == Stage.SUBMITTED


def test_concurrent_transition_mixin_guards_a_raw_save_of_a_stale_copy(draft, customer):
    from django_fsm import ConcurrentTransition

    stale = LoanApplication.objects.get(pk=draft.pk)
    services.application_submit(application=draft, actor=customer)
    stale.withdraw()
    with pytest.raises(ConcurrentTransition):
        stale.save()


def test_incomplete_draft_cannot_be_submitted(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, consents=False)
    with pytest.raises(services.TransitionRefused, match="consents"):
        services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    assert application.stage == Stage.DRAFT
    assert application.events.count() == 1  # only its creation


def test_rejection_without_a_catalogue_reason_is_refused(draft, reviewer):
    application = place_at(draft, Stage.UNDER_REVIEW)
    with pytest.raises(services.ReasonRequired):
        services.review_reject(application=application, actor=reviewer, reason=reason("high_volume"))
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW


def test_cannot_leave_awaiting_documents_while_a_requested_document_is_missing(draft, customer, reviewer):
    application = place_at(draft, Stage.UNDER_REVIEW)
    services.review_request_documents(
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=reason("more_income_proof"),
    )
    application.refresh_from_db()
    assert [t.code for t in application.missing_document_types()] == ["bank_statement"]
    with pytest.raises(services.TransitionRefused, match="missing"):
        services.review_resume(application=application, actor=customer)
    Document.objects.create(
        application=application,
        document_type=DocumentType.objects.get(code="bank_statement"),
        file="documents/x/y",
        original_name="statement.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by=customer,
    )
    assert application.missing_document_types() == []
    assert services.review_resume(application=application, actor=customer).stage == Stage.UNDER_REVIEW


def test_reviewer_cannot_approve_own_review(make_user, draft):
    both = make_user("both_roles", "reviewer", "approver")
    application = place_at(draft, Stage.UNDER_REVIEW)
    application = services.review_recommend(application=application, actor=both)
    with pytest.raises(PermissionDenied):
        services.approval_approve(
            application=application,
            actor=both,
            amount=Decimal("100000"),
            rate=Decimal("0.05"),
            term_months=36,
        )
    application.refresh_from_db()
    assert application.stage == Stage.APPROVAL


def test_approver_cannot_release_own_disbursement(make_user, draft, reviewer):
    both = make_user("approver_finance", "approver", "finance")
    application = services.review_recommend(application=place_at(draft, Stage.UNDER_REVIEW), actor=reviewer)
    application = services.approval_approve(
        application=application, actor=both, amount=Decimal("140000"), rate=Decimal("0.05"), term_months=36
    )
    LoanApplication.objects.filter(pk=application.pk).update(stage=Stage.DISBURSEMENT)
    application.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.disbursement_release(application=application, actor=both)


@pytest.mark.parametrize(
    ("amount", "rate", "term", "field"),
    [
        (Decimal("150000"), Decimal("0.05"), 36, "amount"),  # above the requested 140,000
        (Decimal("10000"), Decimal("0.05"), 36, "amount"),  # below the product minimum
        (Decimal("140000"), Decimal("0.12"), 36, "rate"),
        (Decimal("140000"), Decimal("0.05"), 30, "term_months"),
    ],
)
def test_offer_outside_product_limits_is_refused(draft, approver, amount, rate, term, field):
    from django.core.exceptions import ValidationError

    application = place_at(draft, Stage.APPROVAL)
    with pytest.raises(ValidationError) as excinfo:
        services.approval_approve(
            application=application, actor=approver, amount=amount, rate=rate, term_months=term
        )
    assert field in excinfo.value.message_dict
    application.refresh_from_db()
    assert application.stage == Stage.APPROVAL
    assert application.approved_amount is None


def test_entering_a_stage_sets_its_due_time_from_the_sla(draft, customer):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        application = services.application_submit(application=draft, actor=customer)
        application = services.precheck_start(application=application)
        application = services.precheck_pass(application=application)
    assert application.stage_entered_at == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    # Review: 24 working hours (09:00–18:00 Shanghai). Entered Monday 17:00 Shanghai: Mon 1 h,
    # Tue 9 h, Wed 9 h, Thu 5 h → Thursday 14:00 Shanghai, 06:00 UTC.
    assert application.stage_due_at == dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC)


def test_final_stage_records_closing_reason_and_has_no_deadline(draft, reviewer):
    application = place_at(draft, Stage.UNDER_REVIEW)
    application = services.review_reject(
        application=application, actor=reviewer, reason=reason("credit_history")
    )
    assert application.closing_reason == "credit_history"
    assert application.closed_at is not None
    assert application.stage_due_at is None


def test_expired_offer_cannot_be_accepted(draft, customer):
    import datetime as dt

    from django.utils import timezone

    application = place_at(draft, Stage.OFFER_PENDING)
    LoanApplication.objects.filter(pk=application.pk).update(
        stage_due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    application.refresh_from_db()
    with pytest.raises(services.TransitionRefused, match="expired"):
        services.offer_accept(application=application, actor=customer)


def test_dealer_staff_of_another_dealership_cannot_submit(make_user, draft):
    from .factories import DealerFactory

    outsider = make_user("outsider", "dealer")
    DealerFactory(code="other").staff.add(outsider)
    with pytest.raises(PermissionDenied):
        services.application_submit(application=draft, actor=outsider)


def test_a_large_loan_needs_a_senior_approver(make_user, customer, dealer, reviewer, approver):
    senior = make_user("senior", "senior_approver")
    application = make_draft(
        customer=customer,
        dealer=dealer,
        vehicle_price=Decimal("500000.00"),
        down_payment=Decimal("150000.00"),
        requested_amount=Decimal("350000.00"),
    )
    application = place_at(application, Stage.APPROVAL)
    terms = {"amount": Decimal("350000"), "rate": Decimal("0.05"), "term_months": 36}
    with pytest.raises(PermissionDenied):
        services.approval_approve(application=application, actor=approver, **terms)
    assert (
        services.approval_approve(application=application, actor=senior, **terms).stage == Stage.OFFER_PENDING
    )
