"""Data for the browser tests, built through the services as everywhere else."""

from __future__ import annotations

from decimal import Decimal

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication, StageDefinition
from applications.tests.factories import make_draft
from reviews.tests.builders import upload


def in_review(*, customer, dealer, **draft) -> LoanApplication:
    """A submitted application with every required document on file: the pre-check (run on commit,
    as in production) sends it straight to review, where the rules assign it."""
    application = make_draft(customer=customer, dealer=dealer, **draft)
    for code in StageDefinition.objects.get(stage=Stage.UNDER_REVIEW).required_document_types.values_list(
        "code", flat=True
    ):
        upload(application, code, customer)
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW, application.stage
    return application


def at_offer(*, customer, dealer, reviewer, approver, **draft) -> LoanApplication:
    """In review (``in_review``), recommended, and approved: ¥140,000.00 at 5.88 % over 36 months,
    waiting for the customer's answer."""
    application = services.review_recommend(
        application=in_review(customer=customer, dealer=dealer, **draft), actor=reviewer
    )
    return services.approval_approve(
        application=application,
        actor=approver,
        amount=Decimal("140000.00"),
        rate=Decimal("0.0588"),
        term_months=36,
    )


def documents_then_offer(application: LoanApplication, *, customer, reviewer, approver) -> LoanApplication:
    """A submitted file waiting for the customer's documents: they are uploaded (review resumes), the
    reviewer recommends it and the approver offers ¥140,000.00 at 5.88 % over 36 months."""
    for doc_type in application.missing_document_types():
        upload(application, doc_type.code, customer)
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW, application.stage
    application = services.review_recommend(application=application, actor=reviewer)
    return services.approval_approve(
        application=application,
        actor=approver,
        amount=Decimal("140000.00"),
        rate=Decimal("0.0588"),
        term_months=36,
    )


def paid_out(application: LoanApplication, *, operations, finance) -> LoanApplication:
    """An accepted offer through contract, lien registration and disbursement."""
    application = services.contract_mark_signed(application=application, actor=operations)
    application = services.lien_mark_registered(application=application, actor=operations)
    return services.disbursement_release(application=application, actor=finance)
