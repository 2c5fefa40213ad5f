"""The domain core: the loan application, its state machine, its history, and its configuration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.roles import Role
from common.identifiers import canonical_reference
from common.pii import EncryptedDecimalField, EncryptedField, mask_id_number, mask_phone

from .choices import (
    NEW_ENERGY_POWERTRAINS,
    DocumentStatus,
    Employment,
    EventKind,
    IncomeBand,
    Powertrain,
    ReasonKind,
    RepaymentMethod,
    Stage,
)
from .sla import SlaState

# --- Configuration as data ----------------------------------------------------------------------


class Bilingual(models.Model):
    """Content kept in both languages; ``localized("title")`` picks the active one."""

    class Meta:
        abstract = True

    def localized(self, field: str) -> str:
        suffix = "en" if (get_language() or "").startswith("en") else "zh_hans"
        return getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh_hans")


class DocumentType(Bilingual):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    help_zh_hans = models.TextField(_("how to provide it (Chinese)"), blank=True)
    help_en = models.TextField(_("how to provide it (English)"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")

    def __str__(self) -> str:
        return self.localized("name")


class Reason(Bilingual):
    """The catalogue of delay, rejection and document-problem reasons the customer is shown."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ReasonKind.choices)
    text_zh_hans = models.CharField(_("customer text (Chinese)"), max_length=200)
    text_en = models.CharField(_("customer text (English)"), max_length=200)
    remedy_zh_hans = models.TextField(_("what happens next / what to do (Chinese)"), blank=True)
    remedy_en = models.TextField(_("what happens next / what to do (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("reason")
        verbose_name_plural = _("reason catalogue")

    def __str__(self) -> str:
        return f"{self.code}: {self.localized('text')}"


class StageDefinition(Bilingual):
    """One stage's time limit, owner and customer-facing words."""

    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices, unique=True)
    sla = models.DurationField(_("time limit"), null=True, blank=True)
    owner_role = models.CharField(_("owner role"), max_length=30, choices=Role.choices, blank=True)
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    explanation_zh_hans = models.TextField(_("what happens now (Chinese)"))
    explanation_en = models.TextField(_("what happens now (English)"))
    customer_action_zh_hans = models.TextField(_("what you can do (Chinese)"), blank=True)
    customer_action_en = models.TextField(_("what you can do (English)"), blank=True)
    required_document_types = models.ManyToManyField(
        DocumentType, blank=True, verbose_name=_("documents required to leave this stage")
    )
    # Expiry (``applications.expiry``): when a file left waiting on the customer closes by itself.
    expires_at_deadline = models.BooleanField(
        _("expires at the customer's deadline"),
        default=False,
        help_text=_(
            "A file still in this stage when its time limit has run out closes as expired: the "
            "deadline the customer was shown, counted from when the stage began. Only for waiting "
            "for documents and the offer."
        ),
    )
    expires_when_untouched = models.DurationField(
        _("expires when untouched for"),
        null=True,
        blank=True,
        help_text=_("Drafts only: a draft nobody has changed for this long closes as expired. Empty: never."),
    )
    last_reminder_before = models.DurationField(
        _("last reminder before expiry"),
        null=True,
        blank=True,
        help_text=_("The customer gets one last reminder this long before the file expires. Empty: none."),
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("stage definition")
        verbose_name_plural = _("stage definitions")

    def __str__(self) -> str:
        return self.get_stage_display()

    def clean(self) -> None:
        """Expiry only where the state machine can expire a file and the rule has a clock."""
        from .expiry import DEADLINE_STAGES, UNTOUCHED_STAGES

        errors = {}
        if self.expires_at_deadline and self.stage not in DEADLINE_STAGES:
            errors["expires_at_deadline"] = _(
                "Only waiting for documents and the offer expire at a deadline."
            )
        elif self.expires_at_deadline and self.sla is None:
            errors["expires_at_deadline"] = _("Set the time limit: it is the deadline.")
        if self.expires_when_untouched is not None and self.stage not in UNTOUCHED_STAGES:
            errors["expires_when_untouched"] = _("Only drafts expire when untouched.")
        if self.last_reminder_before is not None:
            expires = self.expires_at_deadline or self.expires_when_untouched is not None
            if not expires:
                errors["last_reminder_before"] = _(
                    "This stage does not expire: there is nothing to remind of."
                )
            elif self.last_reminder_before <= dt.timedelta(0):
                errors["last_reminder_before"] = _("The reminder must come before the file expires.")
        if errors:
            raise ValidationError(errors)


class Dealer(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    region = models.CharField(_("region"), max_length=60)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="dealerships", verbose_name=_("staff")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")

    def __str__(self) -> str:
        return self.name


class LoanProduct(Bilingual):
    """A loan product. Green products favour new-energy vehicles with a lower rate and down payment."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    min_rate = models.DecimalField(_("lowest annual rate"), max_digits=6, decimal_places=4)
    max_rate = models.DecimalField(_("highest annual rate"), max_digits=6, decimal_places=4)
    terms = models.JSONField(_("terms (months)"), default=list)
    min_amount = models.DecimalField(_("smallest loan"), max_digits=12, decimal_places=2)
    max_amount = models.DecimalField(_("largest loan"), max_digits=12, decimal_places=2)
    min_down_payment_ratio = models.DecimalField(
        _("minimum down payment"), max_digits=4, decimal_places=3, default=Decimal("0.200")
    )
    new_energy_min_down_payment_ratio = models.DecimalField(
        _("minimum down payment, new-energy vehicle"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.150"),
    )
    new_energy_rate_discount = models.DecimalField(
        _("rate discount, new-energy vehicle"), max_digits=6, decimal_places=4, default=Decimal("0")
    )
    new_energy_only = models.BooleanField(_("new-energy vehicles only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")

    def __str__(self) -> str:
        return self.localized("name")

    def min_down_payment_ratio_for(self, powertrain: str) -> Decimal:
        if powertrain in NEW_ENERGY_POWERTRAINS:
            return self.new_energy_min_down_payment_ratio
        return self.min_down_payment_ratio

    def rate_range_for(self, powertrain: str) -> tuple[Decimal, Decimal]:
        discount = self.new_energy_rate_discount if powertrain in NEW_ENERGY_POWERTRAINS else 0
        return self.min_rate - discount, self.max_rate - discount


# --- The application ----------------------------------------------------------------------------

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

    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True, db_index=True)
    # The SLA clock's verdict on the current stage (applications.services.sla_advance, set-based);
    # back to on time when the stage changes. ``sla_escalated_at``: the second escalation (150 %).
    # Indexed only where it is not "on time" (``Meta.indexes``): the sweep's own look-ups.
    sla_state = models.CharField(_("SLA"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME)
    sla_escalated_at = models.DateTimeField(_("escalated again"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
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
        conditions=[has_no_missing_documents],
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
        # A walk-in buyer answers the offer at the showroom, through the dealer's staff.
        permission=_applicant_or_dealer,
    )
    def accept_offer(self, *, repayment_method: str) -> None:
        self.repayment_method = repayment_method

    @transition(stage, source=Stage.OFFER_PENDING, target=Stage.WITHDRAWN, permission=_applicant_or_dealer)
    def decline_offer(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.CONTRACT_SIGNING,
        target=Stage.LIEN_REGISTRATION,
        permission="applications.process_contract",
    )
    def sign_contract(self) -> None:
        pass

    @transition(
        stage,
        source=Stage.LIEN_REGISTRATION,
        target=Stage.DISBURSEMENT,
        permission="applications.process_contract",
    )
    def register_lien(self) -> None:
        pass

    @transition(stage, source=Stage.DISBURSEMENT, target=Stage.DISBURSED, permission=_finance_not_approver)
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


class Applicant(models.Model):
    """The person applying, as stated on this application. ID, phone and income are encrypted."""

    application = models.OneToOneField(
        LoanApplication, on_delete=models.CASCADE, related_name="applicant", verbose_name=_("application")
    )
    full_name = models.CharField(_("full name"), max_length=60)
    id_number = EncryptedField(_("ID card number"))
    id_number_hash = models.CharField(max_length=64, db_index=True, editable=False)
    birth_date = models.DateField(_("date of birth"))
    phone = EncryptedField(_("mobile number"))
    phone_hash = models.CharField(max_length=64, db_index=True, editable=False)
    employment = models.CharField(_("employment"), max_length=20, choices=Employment.choices)
    employer = models.CharField(_("employer"), max_length=120, blank=True)
    monthly_income = EncryptedDecimalField(_("monthly income"))
    # The income's coarse band in clear, for reports (SQL cannot group by the encrypted income).
    # Set by ``services.applicant_set`` whenever the income is saved; blank only while unknown.
    income_band = models.CharField(
        _("income band"), max_length=10, choices=IncomeBand.choices, blank=True, editable=False
    )
    monthly_debt = EncryptedDecimalField(_("existing monthly debt payments"))

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")

    def __str__(self) -> str:
        return self.full_name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Consent(models.Model):
    class Kind(models.TextChoices):
        CREDIT_CHECK = "credit_check", _("Consent to a credit bureau check")
        PRIVACY_NOTICE = "privacy_notice", _("Acceptance of the privacy notice")

    application = models.ForeignKey(LoanApplication, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    notice_version = models.CharField(_("notice version"), max_length=20)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "notice_version"], name="one_consent_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.notice_version})"


class DocumentRequest(models.Model):
    """A reviewer's request for a document type, open until a document of that type is on file."""

    application = models.ForeignKey(
        LoanApplication, on_delete=models.CASCADE, related_name="document_requests"
    )
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="requests")
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")

    def __str__(self) -> str:
        return str(self.document_type)


def document_upload_to(instance: Document, filename: str) -> str:
    # A generated name: the customer's file name never reaches the file system.
    return f"documents/{instance.application.reference}/{secrets.token_hex(16)}"


class Document(models.Model):
    # What customer URLs name a document by: random, so the database id never shows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(LoanApplication, on_delete=models.CASCADE, related_name="documents")
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, verbose_name=_("type"))
    file = models.FileField(_("file"), upload_to=document_upload_to)
    original_name = models.CharField(_("original file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    status = models.CharField(
        _("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    rejection_reason = models.ForeignKey(
        Reason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("rejection reason")
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"{self.document_type} ({self.get_status_display()})"


# --- The history: one row per event, chained by SHA-256 ------------------------------------------

GENESIS_HASH = "0" * 64


class StageEvent(models.Model):
    """One event in an application's history: the timeline, the audit trail and the SLA data.

    Rows are written once by ``applications.services`` and never updated or deleted. Each carries
    the hash of the event before it and its own hash over a canonical serialisation, so an edited,
    deleted or reordered event breaks the chain (``manage.py verify_history``).
    """

    application = models.ForeignKey(LoanApplication, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices, default=EventKind.TRANSITION)
    transition = models.CharField(_("action"), max_length=40, blank=True)
    from_stage = models.CharField(_("from"), max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=30, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("time"))
    # A transition's record of when the stage it entered was due (the application's stage_due_at
    # at that moment), so reports can tell afterwards whether each stay ended within its limit.
    # Empty for other events, for stages without a limit, and for events written before 0012.
    due_at = models.DateTimeField(_("stage due"), null=True, blank=True)
    # A transition's record of the stay it ends: when the application entered the stage it leaves
    # (its stage_entered_at just before) and when that stage was due (its stage_due_at just
    # before). A stay is then one row: reports and the prediction read it without pairing events.
    # Empty for other events and for the first transition (out of no stage); filled by 0016 for
    # the transitions written before 0015 (see ``stay_from_chain`` for how those verify).
    stay_started_at = models.DateTimeField(_("stay began"), null=True, blank=True)
    stay_due_at = models.DateTimeField(_("stay was due"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    reason_code = models.CharField(_("reason"), max_length=40, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["application_id", "sequence"]
        verbose_name = _("history event")
        verbose_name_plural = _("history")
        constraints = [
            models.UniqueConstraint(fields=["application", "sequence"], name="one_event_per_sequence")
        ]
        indexes = [
            # A stay is its leaving transition: the SLA report (reports.selectors) and the delay
            # prediction (prediction.py) read the stays that ended in a stage between two times,
            # with every column they need, from this index alone (no table reads on PostgreSQL).
            models.Index(
                fields=["from_stage", "created_at", "stay_started_at", "stay_due_at", "application", "actor"],
                condition=models.Q(kind=EventKind.TRANSITION),
                name="event_stay_idx",
            ),
            # The stages each application entered, and when: the report's funnel and the decisions
            # behind its approval factors.
            models.Index(
                fields=["application", "to_stage", "created_at"],
                condition=models.Q(kind=EventKind.TRANSITION),
                name="event_entered_stage_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.from_stage} → {self.to_stage}"

    def canonical(self, reference: str, *, with_stay: bool = True) -> bytes:
        """The bytes the hash covers: every field but the hash itself, in a fixed order.

        ``with_stay=False`` leaves the stay out: the form the transitions written before 0015 were
        hashed in, before their stays were filled in (``history.stay_from_chain`` checks those)."""
        payload = {
            "application": reference,
            "sequence": self.sequence,
            "kind": self.kind,
            "transition": self.transition,
            "from": self.from_stage,
            "to": self.to_stage,
            "actor": self.actor_id,
            "at": self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "note": self.note,
            "reason": self.reason_code,
            "data": self.data,
            "prev": self.prev_hash,
        }
        # The due time joined the history in 0012: covered when present, left out when empty, so
        # the events written before it keep the hashes they were written with. (The demo's light
        # rows may not carry the attribute at all.)
        due_at = getattr(self, "due_at", None)
        if due_at is not None:
            payload["due"] = due_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        # The stay joined it in 0015, on the same terms.
        if with_stay:
            for key, value in (
                ("stay_started", getattr(self, "stay_started_at", None)),
                ("stay_due", getattr(self, "stay_due_at", None)),
            ):
                if value is not None:
                    payload[key] = value.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def compute_hash(self, reference: str, *, with_stay: bool = True) -> str:
        return hashlib.sha256(self.canonical(reference, with_stay=with_stay)).hexdigest()


class BlacklistEntry(models.Model):
    """A person the pre-check must refuse, found by the keyed hash of the ID number."""

    id_number_hash = models.CharField(max_length=64, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")

    def __str__(self) -> str:
        return self.note or self.id_number_hash[:12]


# The working calendar of the SLA clock (its own module; imported here so Django registers it).
from .working_calendar import CalendarDay, WorkingCalendar  # noqa: E402, F401
