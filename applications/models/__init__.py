"""The domain core: the loan application, its state machine, its history, and its configuration.

A module per subdomain; everything is imported here, so ``applications.models.<name>`` (the
import path the rest of the project and the migrations use) keeps naming each model and helper.
"""

from __future__ import annotations

from ..working_calendar import CalendarDay, WorkingCalendar
from .applicants import Applicant, Consent
from .application import (
    DOCUMENTS_STAGE,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    SYSTEM,
    LoanApplication,
    new_reference,
    normalise_reference,
)
from .configuration import (
    Bilingual,
    BlacklistEntry,
    Dealer,
    DocumentType,
    LoanProduct,
    Reason,
    StageDefinition,
)
from .documents import Document, DocumentRequest, document_upload_to
from .history import GENESIS_HASH, StageEvent
from .partner_steps import PartnerStep, PartnerStepRequirement
from .privacy import CorrectionRequest
from .questions import QuestionThread, ThreadMessage, attachment_upload_to
from .walk_in import WalkInClaim

__all__ = [
    "DOCUMENTS_STAGE",
    "GENESIS_HASH",
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "SYSTEM",
    "Applicant",
    "Bilingual",
    "BlacklistEntry",
    "CalendarDay",
    "Consent",
    "CorrectionRequest",
    "Dealer",
    "Document",
    "DocumentRequest",
    "DocumentType",
    "LoanApplication",
    "LoanProduct",
    "PartnerStep",
    "PartnerStepRequirement",
    "QuestionThread",
    "Reason",
    "StageDefinition",
    "StageEvent",
    "ThreadMessage",
    "WalkInClaim",
    "WorkingCalendar",
    "attachment_upload_to",
    "document_upload_to",
    "new_reference",
    "normalise_reference",
]
