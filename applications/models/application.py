"""The loan application: its fields, its conditions and the state machine's transitions."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.identifiers import canonical_reference

from ..choices import (
    FINAL_STAGES,
    NEW_ENERGY_POWERTRAINS,
    DocumentStatus,
    Powertrain,
    ReasonKind,
    RepaymentMethod,
    Stage,
)
from ..sla import SlaState
from .applicants import Consent
from .configuration import Dealer, DocumentType, LoanProduct, Reason

# Digits and capitals without the look-alikes 0/O, 1/I/L: 31 symbols, 10 of them ≈ 49.5 bits.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 10


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(raw: str) -> str:
    """A typed reference as stored; the one rule is ``common.identifiers.canonical_reference``."""
    return canonical_reference(raw)


def _is_applicant(application: LoanApplication, user) -> bool:
    return user.has_perm("applications.act_as_applicant") and application.customer_id == user.pk


def _applicant_or_dealer(application: LoanApplication, user) -> bool:
    if _is_applicant(application, user):
        return True
    return (
        user.has_perm("applications.submit_for_customer")
        and application.dealer_id is not None  # a draft may not have its dealer yet
        and application.dealer.staff.filter(pk=user.pk).exists()
    )


def _approver_not_reviewer(application: LoanApplication, user) -> bool:
    """Four-eyes: whoever recommended the file may not approve it."""
    return user.has_perm("applications.approve_application") and user.pk != application.reviewed_by_id


def _may_decide(application: LoanApplication, user) -> bool:
    """Approve or decline: four-eyes, and files above the senior threshold need a senior approver."""
    if not _approver_not_reviewer(application, user):
        return False
    amount = application.requested_amount
    if amount is not None and amount > settings.SENIOR_APPROVAL_THRESHOLD:
        return user.has_perm("applications.approve_large_application")
    return True


def _finance_not_approver(application: LoanApplication, user) -> bool:
    """Four-eyes: whoever approved the offer may not release the money."""
    return user.has_perm("applications.disburse_application") and user.pk != application.approved_by_id


def _system_only(application: LoanApplication, user) -> bool:
    """Transitions the system takes (pre-check, expiry): never a person."""
    return False


SYSTEM = {"system": True}
# The stage whose required documents every application must have on file before review ends.
DOCUMENTS_STAGE = Stage.UNDER_REVIEW


# Stages a submitted file waits in: neither a draft nor final (the SLA report's backlog).
OPEN_STAGES = [stage.value for stage in Stage if stage not in FINAL_STAGES and stage != Stage.DRAFT]


class LoanApplication(ConcurrentTransitionMixin, models.Model):
    """A car-loan application and its lifecycle.

    ``stage`` is protected: it changes only through the transition methods below, which change
    fields only. ``applications.services`` wraps each in a locked transaction that also writes the
    history event; nothing else may call them.
    """

    # Unique through ``Meta.constraints``: ``unique=True`` would add a second, pattern-matching
    # index on PostgreSQL that no query uses and every write maintains.
    reference = models.CharField(
        _("reference"), max_length=REFERENCE_LENGTH, default=new_reference, editable=False
    )
    # Indexed with the due time (``Meta.indexes``), which serves every lookup by stage.
    stage = FSMField(_("stage"), default=Stage.DRAFT, choices=Stage.choices, protected=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loan_applications",
        verbose_name=_("customer account"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Vehicle and loan are empty while a draft waits for those steps (a customer's draft is saved
    # after the personal details); ``is_complete`` requires every one of them before submission.
    dealer = models.ForeignKey(
        Dealer, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("dealer")
    )
    product = models.ForeignKey(
        LoanProduct, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("loan product")
    )

    # Text fields are blank, not NULL, while unknown: one empty value, as Django prefers.
    vehicle_make = models.CharField(_("make"), max_length=60, blank=True)
    vehicle_model = models.CharField(_("model"), max_length=80, blank=True)
    vehicle_price = models.DecimalField(
        _("vehicle price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    powertrain = models.CharField(_("powertrain"), max_length=10, choices=Powertrain.choices, blank=True)

    down_payment = models.DecimalField(
        _("down payment"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    requested_amount = models.DecimalField(
        _("requested amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    term_months = models.PositiveSmallIntegerField(_("term (months)"), null=True, blank=True)

    approved_amount = models.DecimalField(
        _("approved amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    approved_rate = models.DecimalField(
        _("approved annual rate"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    approved_term_months = models.PositiveSmallIntegerField(_("approved term"), null=True, blank=True)
    # What the customer agreed to when accepting the offer; blank until then (and on files accepted
    # before the choice was asked).
    repayment_method = models.CharField(
        _("repayment method"), max_length=20, choices=RepaymentMethod.choices, blank=True
    )
    # Who decided: read with the file, never searched by. No index (each would be one more to write
    # on every change of every file); deleting a staff account, which PROTECT refuses anyway, scans.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    disbursed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    closing_reason = models.CharField(_("closing reason"), max_length=40, blank=True)
    # Why the current stage runs late, from the catalogue; cleared when the stage changes.
    delay_reason = models.ForeignKey(
        Reason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": ReasonKind.DELAY},
        verbose_name=_("cause of delay"),
        db_index=False,  # read with the file, never searched by
    )

    # Required partner steps of the current stay not done yet (``services.partner_steps`` counts
    # them under the row lock); the stage moves on only at 0. Kept here so the condition is a
    # predicate on the row, with no query on every page that lists the available transitions.
    partner_steps_waiting = models.PositiveSmallIntegerField(
        _("partner steps waited for"), default=0, editable=False
    )
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True, db_index=True)
    # The SLA clock's verdict on the current stage (applications.services.sla_advance, set-based);
    # back to on time when the stage changes. ``sla_escalated_at``: the second escalation (150 %).
    # Indexed only where it is not "on time" (``Meta.indexes``): the sweep's own look-ups.
    sla_state = models.CharField(_("SLA"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME)
    sla_escalated_at = models.DateTimeField(_("escalated again"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # When the pre-check sweep last queued this file's pre-check again (``services.precheck``): it
    # is queued once, then again only if still not done ``PRECHECK_REQUEUE_AFTER_SECONDS`` later.
    precheck_queued_at = models.DateTimeField(
        _("pre-check queued again"), null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When the retention pass removed the file's personal data (``services.retention``): the
    # applicant, the documents and the notes are gone; the figures and the history's chain stay.
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # The head of the tamper-evident history: count and hash of the newest event.
    event_count = models.PositiveIntegerField(default=0, editable=False)
    history_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("loan application")
        verbose_name_plural = _("loan applications")
        # Every index is written on each change of each file (the SLA sweep changes thousands a
        # pass): only those a query needs.
        indexes = [
            models.Index(fields=["stage", "stage_due_at"]),
            # A dealership's files, newest first (the dealer workspace) and latest changed first
            # (the API's cursor): read in order from the index, however many files it has.
            models.Index(fields=["dealer", "-created_at", "-id"], name="application_dealer_new_idx"),
            models.Index(fields=["dealer", "-updated_at", "-id"], name="application_dealer_changed_idx"),
            # The files submitted in a range, the SLA report's cohorts: a submission day's funnel and
            # approval factors recomputed (reports.selectors.cohort_rollups), and today's latest.
            models.Index(fields=["submitted_at"], name="application_submitted_idx"),
            # The open files by stage, how long each has waited and whether it is overdue: the SLA
            # report's backlog reads them from this index alone (an index-only scan of the open
            # files, not the whole table). Its condition is the report's list of open stages.
            models.Index(
                fields=["stage", "stage_entered_at", "stage_due_at"],
                condition=models.Q(stage__in=OPEN_STAGES),
                name="application_open_age_idx",
            ),
            # The sweep: late files that left the staff clock (set back to on time), and the second
            # escalations still to mark. Small: late files only.
            models.Index(
                fields=["stage"], condition=~models.Q(sla_state="on_time"), name="application_late_idx"
            ),
            models.Index(
                fields=["stage_due_at"],
                condition=models.Q(sla_state="breached", sla_escalated_at__isnull=True),
                name="application_escalate_idx",
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["reference"], name="application_reference_unique")]
        permissions = [
            ("act_as_applicant", _("Apply for a loan and act on one's own applications")),
            ("submit_for_customer", _("Submit applications for walk-in customers of one's dealership")),
            ("review_application", _("Review applications")),
            ("approve_application", _("Approve applications and set the offer")),
            ("approve_large_application", _("Approve applications above the senior threshold")),
            ("process_contract", _("Handle contract signing and lien registration")),
            ("disburse_application", _("Release disbursements")),
            ("manage_applications", _("Reassign work and configure stages")),
            ("view_full_pii", _("See ID and phone numbers in full")),
        ]

    def __str__(self) -> str:
        return self.display_reference

    @property
    def display_reference(self) -> str:
        half = REFERENCE_LENGTH // 2
        return f"{self.reference[:half]}-{self.reference[half:]}"

    @property
    def is_new_energy(self) -> bool:
        return self.powertrain in NEW_ENERGY_POWERTRAINS

    # --- Conditions: pure predicates on the instance ----------------------------------------

    def has_vehicle(self) -> bool:
        return bool(
            self.dealer_id
            and self.vehicle_make
            and self.vehicle_model
            and self.vehicle_price
            and self.powertrain
        )

    def has_loan(self) -> bool:
        return bool(
            self.product_id
            and self.down_payment is not None
            and self.requested_amount is not None
            and self.term_months
        )

    def is_complete(self) -> bool:
        """Everything a submission needs: vehicle and dealer, loan, applicant details and both consents."""
        if not (self.has_vehicle() and self.has_loan()):
            return False
        if not hasattr(self, "applicant"):
            return False
        kinds = set(self.consents.values_list("kind", flat=True))
        return {Consent.Kind.CREDIT_CHECK, Consent.Kind.PRIVACY_NOTICE} <= kinds

    def has_no_missing_documents(self) -> bool:
        return not self.missing_document_types()

    def partner_steps_done(self) -> bool:
        """No required partner step of this stay is still owed (``partner_steps_waiting``)."""
        return not self.partner_steps_waiting

    def offer_still_valid(self) -> bool:
        return self.stage_due_at is None or timezone.now() < self.stage_due_at

    def missing_document_types(self) -> list[DocumentType]:
        """Document types the customer still owes, each at most once, ordered by code.

        Owed: every type the review stage requires with no pending or accepted document on file,
        and every type a reviewer requested with no pending or accepted document uploaded since.
        """
        on_file = [
            (doc.document_type_id, doc.uploaded_at)
            # application_id too: the related manager reads it on every row, one query each if deferred.
            for doc in self.documents.exclude(status=DocumentStatus.REJECTED).only(
                "application_id", "document_type_id", "uploaded_at"
            )
        ]
        missing: dict[int, DocumentType] = {}
        for doc_type in DocumentType.objects.filter(stagedefinition__stage=DOCUMENTS_STAGE):
            if not any(type_id == doc_type.pk for type_id, _at in on_file):
                missing[doc_type.pk] = doc_type
        for request in self.document_requests.select_related("document_type"):
            if not any(t == request.document_type_id and at >= request.requested_at for t, at in on_file):
                missing[request.document_type_id] = request.document_type
        return sorted(missing.values(), key=lambda doc_type: doc_type.code)

    # --- Transitions: fields only; the services add the lock, the event and the hooks --------
    # What each one means (its words, the reason kind it needs) is in ``transitions.py``.

    @transition(
        stage,
        source=Stage.DRAFT,
        target=Stage.SUBMITTED,
        conditions=[is_complete],
        permission=_applicant_or_dealer,
    )
    def submit(self, *, at) -> None:
        self.submitted_at = at

    @transition(
        stage, source=Stage.SUBMITTED, target=Stage.CREDIT_CHECK, permission=_system_only, custom=SYSTEM
    )
    def start_credit_check(self) -> None:
        pass

    @transition(
        stage, source=Stage.CREDIT_CHECK, target=Stage.UNDER_REVIEW, permission=_system_only, custom=SYSTEM
    )
    def pass_precheck(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.CREDIT_CHECK,
        target=Stage.AWAITING_DOCUMENTS,
        permission=_system_only,
        custom=SYSTEM,
    )
    def precheck_needs_documents(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.CREDIT_CHECK,
        target=Stage.REJECTED,
        permission=_system_only,
        custom=SYSTEM,
    )
    def fail_precheck(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.UNDER_REVIEW,
        target=Stage.AWAITING_DOCUMENTS,
        permission="applications.review_application",
    )
    def request_documents(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.AWAITING_DOCUMENTS,
        target=Stage.UNDER_REVIEW,
        conditions=[has_no_missing_documents],
        permission=lambda app, user: (
            _is_applicant(app, user) or user.has_perm("applications.review_application")
        ),
    )
    def resume_review(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.UNDER_REVIEW,
        target=Stage.APPROVAL,
        conditions=[has_no_missing_documents, partner_steps_done],
        permission="applications.review_application",
    )
    def recommend_approval(self, *, by) -> None:
        self.reviewed_by = by

    @transition(
        stage,
        source=Stage.UNDER_REVIEW,
        target=Stage.REJECTED,
        permission="applications.review_application",
    )
    def reject_in_review(self) -> None:
        pass

    @transition(stage, source=Stage.APPROVAL, target=Stage.UNDER_REVIEW, permission=_may_decide)
    def return_to_review(self) -> None:
        pass

    @transition(stage, source=Stage.APPROVAL, target=Stage.OFFER_PENDING, permission=_may_decide)
    def approve(self, *, by, amount: Decimal, rate: Decimal, term_months: int) -> None:
        self.approved_by = by
        self.approved_amount = amount
        self.approved_rate = rate
        self.approved_term_months = term_months

    @transition(
        stage,
        source=Stage.APPROVAL,
        target=Stage.REJECTED,
        permission=_may_decide,
    )
    def decline(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.OFFER_PENDING,
        target=Stage.CONTRACT_SIGNING,
        conditions=[offer_still_valid],
        # The buyer's own answer: a dealer sees the offer but never answers it for them (a walk-in
        # buyer claims the file first, ``services.dealer``).
        permission=_is_applicant,
    )
    def accept_offer(self, *, repayment_method: str) -> None:
        self.repayment_method = repayment_method

    @transition(stage, source=Stage.OFFER_PENDING, target=Stage.WITHDRAWN, permission=_is_applicant)
    def decline_offer(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.CONTRACT_SIGNING,
        target=Stage.LIEN_REGISTRATION,
        conditions=[partner_steps_done],
        permission="applications.process_contract",
    )
    def sign_contract(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.LIEN_REGISTRATION,
        target=Stage.DISBURSEMENT,
        conditions=[partner_steps_done],
        permission="applications.process_contract",
    )
    def register_lien(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.DISBURSEMENT,
        target=Stage.DISBURSED,
        conditions=[partner_steps_done],
        permission=_finance_not_approver,
    )
    def disburse(self, *, by) -> None:
        self.disbursed_by = by

    @transition(
        stage,
        source=[
            Stage.DRAFT,
            Stage.SUBMITTED,
            Stage.CREDIT_CHECK,
            Stage.UNDER_REVIEW,
            Stage.AWAITING_DOCUMENTS,
            Stage.APPROVAL,
            Stage.CONTRACT_SIGNING,
        ],
        target=Stage.WITHDRAWN,
        permission=_applicant_or_dealer,
    )
    def withdraw(self) -> None:
        pass

    @transition(
        stage,
        # The expiry pass (``services.applications_expire_due``) decides when, by ``expiry``'s rules.
        source=[Stage.DRAFT, Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING],
        target=Stage.EXPIRED,
        permission=_system_only,
        custom=SYSTEM,
    )
    def expire(self) -> None:
        pass
