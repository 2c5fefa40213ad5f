"""Reads for dealers' staff: their dealerships' files (``services.dealer`` writes).

A dealer sees the files of the dealerships they are staff of (``Dealer.staff``, one person may serve
several), whoever the customer is, and nothing else: every read here starts from
``dealer_applications``, so another dealership's file is simply not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from common.identifiers import PHONE_RE, canonical_phone, canonical_reference, canonical_text
from common.pii import keyed_hash, mask_name

from .choices import CUSTOMER_STAGES, FINAL_STAGES, MILESTONES, Milestone, Stage, milestone_of
from .eta import expected_completion
from .models import REFERENCE_LENGTH, Dealer, Document, DocumentRequest, LoanApplication, StageDefinition
from .reference import reference_data
from .selectors import DOCUMENT_STAGES, DocumentNeed, documents_needed

if TYPE_CHECKING:
    from accounts.models import User

CLOSED = "closed"  # the milestone filter's value for rejected, withdrawn and expired files


def dealer_dealerships(*, user: User) -> QuerySet[Dealer]:
    if not user.is_authenticated or not user.has_perm("applications.submit_for_customer"):
        return Dealer.objects.none()
    return Dealer.objects.filter(staff=user).order_by("name")


def dealer_applications(
    *, user: User, dealerships: Iterable[Dealer] | None = None
) -> QuerySet[LoanApplication]:
    """Every file of the user's dealerships, with what a row shows joined.

    ``dealerships``: the user's, when the caller has read them already (``dealer_dealerships``).
    Named by their ids, a dealership's files are read in order from its index (newest first) rather
    than sorted, which a subquery of the user's dealerships would make PostgreSQL do."""
    if not user.is_authenticated or not user.has_perm("applications.submit_for_customer"):
        return LoanApplication.objects.none()
    if dealerships is not None:
        mine = LoanApplication.objects.filter(dealer_id__in=[dealer.pk for dealer in dealerships])
    else:
        mine = LoanApplication.objects.filter(dealer__in=Dealer.objects.filter(staff=user).values("pk"))
    return mine.select_related("applicant", "walk_in", "dealer", "product", "delay_reason")


def dealer_application_get(*, user: User, reference: str) -> LoanApplication | None:
    return dealer_applications(user=user).filter(reference=canonical_reference(reference)).first()


@dataclass(frozen=True)
class Search:
    """What the search box was given, canonicalised: a whole reference, a mobile number (matched
    by its keyed hash) or part of a name."""

    kind: str  # "reference" | "phone" | "name"
    value: str


def search_parse(raw: str) -> Search | None:
    text = canonical_text(raw)
    if not text:
        return None
    reference = canonical_reference(text)
    if len(reference) == REFERENCE_LENGTH and reference.isalnum() and not reference.isdigit():
        return Search("reference", reference)
    phone = canonical_phone(text)
    if PHONE_RE.match(phone):
        return Search("phone", phone)
    return Search("name", text)


def dealer_applications_filter(
    applications: QuerySet[LoanApplication],
    *,
    milestone: str = "",
    dealer_id: int | None = None,
    search: Search | None = None,
) -> QuerySet[LoanApplication]:
    if milestone == CLOSED:
        applications = applications.filter(stage__in=[s for s in FINAL_STAGES if s != Stage.DISBURSED])
    elif milestone.isdigit():
        found = next((m for m in MILESTONES if m.number == int(milestone)), None)
        if found is not None:
            applications = applications.filter(stage__in=found.stages)
    if dealer_id is not None:
        applications = applications.filter(dealer_id=dealer_id)
    if search is not None:
        if search.kind == "reference":
            applications = applications.filter(reference=search.value)
        elif search.kind == "phone":
            hashed = keyed_hash(search.value)
            applications = applications.filter(
                Q(applicant__phone_hash=hashed) | Q(walk_in__buyer_phone_hash=hashed)
            )
        else:
            applications = applications.filter(
                Q(applicant__full_name__icontains=search.value)
                | Q(walk_in__buyer_name__icontains=search.value)
            )
    return applications


@dataclass(frozen=True)
class DealerRow:
    """One file in the dealer's list: where it is in the customer's words, when the current step
    should be done (the customer's own estimate) or by when the buyer should answer, what is
    missing, and once paid out, when and how much."""

    application: LoanApplication
    milestone: Milestone | None
    definition: StageDefinition | None
    expected_at: dt.datetime | None
    reply_by: dt.datetime | None
    needs: list[DocumentNeed]
    claimed: bool  # False: a walk-in file the buyer has not taken over yet

    @property
    def buyer_name(self) -> str:
        """Masked, as for staff (张*)."""
        application = self.application
        if hasattr(application, "applicant"):
            return mask_name(application.applicant.full_name)
        walk_in = getattr(application, "walk_in", None)
        return walk_in.masked_buyer_name if walk_in else ""

    @property
    def paid_out_at(self) -> dt.datetime | None:
        return self.application.stage_entered_at if self.application.stage == Stage.DISBURSED else None


def dealer_rows(applications: list[LoanApplication], *, now: dt.datetime | None = None) -> list[DealerRow]:
    """The rows of one page: 2 queries for the page's documents and document requests; the
    definitions, document types and stage durations come from the caches the timeline uses."""
    now = now or timezone.now()
    if not applications:
        return []
    ids = [application.pk for application in applications]
    documents: dict[int, list[Document]] = {pk: [] for pk in ids}
    for document in Document.objects.filter(application_id__in=ids).only(
        "application_id", "document_type_id", "status", "uploaded_at", "rejection_reason_id"
    ):
        documents[document.application_id].append(document)
    requests: dict[int, list[DocumentRequest]] = {pk: [] for pk in ids}
    for request in (
        DocumentRequest.objects.filter(application_id__in=ids)
        .select_related("document_type")
        .order_by("requested_at")
    ):
        requests[request.application_id].append(request)
    reference = reference_data()
    required = [t for t in reference.document_types.values() if t.required_for_review]  # type: ignore[attr-defined]
    rows = []
    for application in applications:
        stage = application.stage
        definition = reference.definitions.get(stage)
        expected_at = None
        if stage not in FINAL_STAGES and stage not in CUSTOMER_STAGES and stage != Stage.DRAFT:
            expectation = expected_completion(
                stage=stage,
                product_id=application.product_id,
                entered_at=application.stage_entered_at,
                due_at=application.stage_due_at,
                sla=definition.sla if definition else None,
                now=now,
            )
            expected_at = expectation.expected_at if expectation else None
        needs = []
        if stage in DOCUMENT_STAGES:
            needs = documents_needed(
                required=required, documents=documents[application.pk], requests=requests[application.pk]
            )
        walk_in = getattr(application, "walk_in", None)
        rows.append(
            DealerRow(
                application=application,
                milestone=milestone_of(stage),
                definition=definition,
                expected_at=expected_at,
                reply_by=application.stage_due_at if stage in CUSTOMER_STAGES else None,
                needs=needs,
                claimed=walk_in is None or walk_in.claimed_at is not None,
            )
        )
    return rows


def dealer_documents(*, application: LoanApplication, codes: tuple[str, ...]) -> list[Document]:
    """The documents of the dealer's kinds on file, newest first."""
    return list(
        application.documents.filter(document_type__code__in=codes)
        .select_related("document_type", "rejection_reason")
        .order_by("-uploaded_at")
    )
