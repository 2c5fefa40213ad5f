"""Enumerations of the lifecycle, and the one mapping of internal stages to customer milestones."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Stage(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CREDIT_CHECK = "credit_check", _("Automatic pre-check")
    UNDER_REVIEW = "under_review", _("Under review")
    AWAITING_DOCUMENTS = "awaiting_documents", _("Awaiting documents")
    APPROVAL = "approval", _("Approval")
    OFFER_PENDING = "offer_pending", _("Offer awaiting confirmation")
    CONTRACT_SIGNING = "contract_signing", _("Contract signing")
    LIEN_REGISTRATION = "lien_registration", _("Lien registration")
    DISBURSEMENT = "disbursement", _("Disbursement")
    DISBURSED = "disbursed", _("Disbursed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


# Stages that end the lifecycle: no transition leaves them and no clock runs in them.
FINAL_STAGES = frozenset({Stage.DISBURSED, Stage.REJECTED, Stage.WITHDRAWN, Stage.EXPIRED})
# Stages where the application waits on the customer, not on staff.
CUSTOMER_STAGES = frozenset({Stage.DRAFT, Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING})


@dataclass(frozen=True)
class Milestone:
    number: int
    title: str
    stages: tuple[Stage, ...]


# The article's five steps, as the customer sees them. Every non-final stage belongs to exactly one.
MILESTONES: tuple[Milestone, ...] = (
    Milestone(1, pgettext_lazy("milestone", "Application submitted"), (Stage.DRAFT, Stage.SUBMITTED)),
    Milestone(
        2,
        pgettext_lazy("milestone", "Credit assessment & review"),
        (Stage.CREDIT_CHECK, Stage.UNDER_REVIEW, Stage.AWAITING_DOCUMENTS),
    ),
    Milestone(3, pgettext_lazy("milestone", "Approval & offer"), (Stage.APPROVAL, Stage.OFFER_PENDING)),
    Milestone(
        4,
        pgettext_lazy("milestone", "Contract & lien registration"),
        (Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION),
    ),
    Milestone(
        5, pgettext_lazy("milestone", "Disbursement & servicing"), (Stage.DISBURSEMENT, Stage.DISBURSED)
    ),
)

_MILESTONE_OF_STAGE = {stage: milestone for milestone in MILESTONES for stage in milestone.stages}


def milestone_of(stage: str) -> Milestone | None:
    """The customer milestone a stage belongs to; None for the end states rejected/withdrawn/expired."""
    return _MILESTONE_OF_STAGE.get(Stage(stage))


class Powertrain(models.TextChoices):
    FUEL = "fuel", _("Fuel")
    HYBRID = "hybrid", _("Hybrid")
    BATTERY_ELECTRIC = "bev", _("Battery electric")
    PLUG_IN_HYBRID = "phev", _("Plug-in hybrid")


# China's new-energy vehicles (新能源汽车): battery-electric and plug-in hybrid; a plain hybrid is not.
NEW_ENERGY_POWERTRAINS = frozenset({Powertrain.BATTERY_ELECTRIC, Powertrain.PLUG_IN_HYBRID})


class Employment(models.TextChoices):
    EMPLOYED = "employed", _("Employed")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    RETIRED = "retired", _("Retired")
    OTHER = "other", _("Other")


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting check")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class ReasonKind(models.TextChoices):
    DELAY = "delay", _("Delay")
    REJECTION = "rejection", _("Rejection")
    DOCUMENT = "document", _("Document problem")
    EXPIRY = "expiry", _("Expiry")


class EventKind(models.TextChoices):
    TRANSITION = "transition", pgettext_lazy("event kind", "Stage change")
    ASSIGNMENT = "assignment", pgettext_lazy("event kind", "Assignment")
    DOCUMENT = "document", pgettext_lazy("event kind", "Document")
    NOTE = "note", pgettext_lazy("event kind", "Note")
    # The cause of a delay set or changed (``services.delay_cause_set``): staff or the portal itself.
    DELAY = "delay", pgettext_lazy("event kind", "Cause of delay")
    # A customer's question or a staff answer in the application's thread (``services.questions``);
    # never an internal note. Not shown in the customer's history: the thread shows the messages.
    MESSAGE = "message", pgettext_lazy("event kind", "Question or answer")
    # A third party's step requested, under way, done or failed (``services.partner_steps``): the
    # customer's timeline shows the current stage's steps as sub-steps, read from these events.
    PARTNER = "partner", pgettext_lazy("event kind", "Partner step")


class MessageKind(models.TextChoices):
    """A message in an application's question thread (``models.questions``)."""

    QUESTION = "question", pgettext_lazy("message kind", "Customer's question")
    ANSWER = "answer", pgettext_lazy("message kind", "Answer")
    NOTE = "note", pgettext_lazy("message kind", "Internal note")


class IncomeBand(models.TextChoices):
    """Coarse bands of the applicant's stated monthly income, for reports.

    The income itself is encrypted (``common.pii.EncryptedDecimalField``), so SQL cannot group by
    it; the band is kept beside it in clear. Five wide bands say nothing about one person that the
    application's loan amount would not already suggest.
    """

    UNDER_8K = "lt8k", _("Under ¥8,000")
    FROM_8K = "8k-15k", _("¥8,000–15,000")
    FROM_15K = "15k-30k", _("¥15,000–30,000")
    FROM_30K = "30k-50k", _("¥30,000–50,000")
    FROM_50K = "50k+", _("¥50,000 and more")


# Lower bounds (yuan per month) of each band, highest first.
_INCOME_BAND_FLOORS = (
    (50_000, IncomeBand.FROM_50K),
    (30_000, IncomeBand.FROM_30K),
    (15_000, IncomeBand.FROM_15K),
    (8_000, IncomeBand.FROM_8K),
)


def income_band_of(monthly_income) -> str:
    """The band of a monthly income (a Decimal in yuan); a band's lower bound belongs to it."""
    for floor, band in _INCOME_BAND_FLOORS:
        if monthly_income >= floor:
            return band
    return IncomeBand.UNDER_8K


class RepaymentMethod(models.TextChoices):
    """How the customer repays, chosen when accepting the offer (``applications.money`` builds each)."""

    EQUAL_INSTALMENT = "equal_instalment", _("Equal instalments (等额本息)")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal (等额本金)")


class PartnerStepKind(models.TextChoices):
    """A third party's part of a stage (``models.partner_steps``): each has its own clock."""

    CREDIT_REPORT = "credit_report", _("Credit-bureau report")
    INSURANCE_POLICY = "insurance_policy", _("Insurance policy")
    GPS_INSTALLATION = "gps_installation", _("GPS installation")
    E_SIGNATURE = "e_signature", _("E-signature of the contract")
    LIEN_REGISTRATION = "lien_registration", _("Lien registration at the vehicle registry")
    FUNDS_TRANSFER = "funds_transfer", _("Funds transfer confirmation")


class PartnerStepStatus(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("partner step", "Requested")
    IN_PROGRESS = "in_progress", pgettext_lazy("partner step", "In progress")
    DONE = "done", pgettext_lazy("partner step", "Done")
    FAILED = "failed", pgettext_lazy("partner step", "Failed")


# A step the partner still owes: its clock runs and, when required, the stage waits for it.
OPEN_PARTNER_STATUSES = frozenset({PartnerStepStatus.REQUESTED, PartnerStepStatus.IN_PROGRESS})


@dataclass(frozen=True)
class PartnerStepWords:
    working: str  # the customer's timeline while the partner works on it
    done: str  # once it is done


# What the customer reads of each kind: who does what, in plain words (no partner's name or ids).
PARTNER_STEP_WORDS: dict[str, PartnerStepWords] = {
    PartnerStepKind.CREDIT_REPORT: PartnerStepWords(
        _("The credit bureau is preparing your credit report"),
        _("The credit bureau has sent your credit report"),
    ),
    PartnerStepKind.INSURANCE_POLICY: PartnerStepWords(
        _("The insurer is issuing the vehicle's insurance policy"),
        _("The insurer has issued the vehicle's insurance policy"),
    ),
    PartnerStepKind.GPS_INSTALLATION: PartnerStepWords(
        _("The installer is fitting the vehicle's GPS tracker"),
        _("The vehicle's GPS tracker is fitted"),
    ),
    PartnerStepKind.E_SIGNATURE: PartnerStepWords(
        _("The e-signature service is completing the contract's signatures"),
        _("The contract's e-signatures are complete"),
    ),
    PartnerStepKind.LIEN_REGISTRATION: PartnerStepWords(
        _("The vehicle registry is registering the lien"),
        _("The vehicle registry has registered the lien"),
    ),
    PartnerStepKind.FUNDS_TRANSFER: PartnerStepWords(
        _("The bank is confirming the transfer of the funds"),
        _("The bank has confirmed the transfer of the funds"),
    ),
}
