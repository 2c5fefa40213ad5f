"""Applications at each stage for the back office's tests, built through the services as everywhere
else."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from applications import services
from applications.choices import Stage
from applications.models import DocumentType, LoanApplication, StageDefinition
from applications.tests.factories import make_draft
from reviews import services as reviews_services

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def upload(application: LoanApplication, code: str, actor) -> None:
    services.document_upload(
        application=application,
        document_type=DocumentType.objects.get(code=code),
        uploaded_file=SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf"),
        actor=actor,
    )


class Pipeline:
    """Moves a fresh application of the customer's to any stage, with the cast as the actors."""

    def __init__(self, *, customer, dealer, reviewer, approver, operations) -> None:
        self.customer, self.dealer = customer, dealer
        self.reviewer, self.approver, self.operations = reviewer, approver, operations

    @staticmethod
    def hold(application: LoanApplication, actor) -> LoanApplication:
        """``actor`` claims the file when a colleague holds it: staff act only on files they hold
        (or nobody does)."""
        assignment = reviews_services.open_assignment(application=application)
        if assignment is not None and assignment.assignee_id != actor.pk:
            reviews_services.assignment_claim(application=application, actor=actor)
        return application

    def held_by(self, actor, stage: str = Stage.UNDER_REVIEW, **draft) -> LoanApplication:
        """A new file at ``stage`` that ``actor`` holds, ready for them to act on."""
        return self.hold(self.new(stage, **draft), actor)

    def new(self, stage: str = Stage.UNDER_REVIEW, **draft) -> LoanApplication:
        application = make_draft(customer=self.customer, dealer=self.dealer, **draft)
        if stage == Stage.DRAFT:
            return application
        # Everything review needs is on file: recommending requires it, and a file waiting for
        # documents may be resumed at once.
        required = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW).required_document_types
        for code in required.values_list("code", flat=True):
            upload(application, code, self.customer)
        application = services.application_submit(application=application, actor=self.customer)
        application = services.precheck_start(application=application)
        if stage == Stage.AWAITING_DOCUMENTS:
            return services.precheck_request_documents(application=application)
        application = services.precheck_pass(application=application)
        if stage == Stage.UNDER_REVIEW:
            return application
        application = services.review_recommend(
            application=self.hold(application, self.reviewer), actor=self.reviewer
        )
        if stage == Stage.APPROVAL:
            return application
        application = services.approval_approve(
            application=self.hold(application, self.approver),
            actor=self.approver,
            amount=application.requested_amount,
            rate=Decimal("0.0500"),
            term_months=application.term_months,
        )
        if stage == Stage.OFFER_PENDING:
            return application
        application = services.offer_accept(application=application, actor=self.customer)
        if stage == Stage.CONTRACT_SIGNING:
            return application
        application = services.contract_mark_signed(
            application=self.hold(application, self.operations), actor=self.operations
        )
        if stage == Stage.LIEN_REGISTRATION:
            return application
        application = services.lien_mark_registered(
            application=self.hold(application, self.operations), actor=self.operations
        )
        if stage == Stage.DISBURSEMENT:
            return application
        raise ValueError(f"no recipe for {stage}")
