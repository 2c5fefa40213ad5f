"""Reads of the domain core: querysets with the joins their pages need."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Case, Count, F, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from common.pii import keyed_hash

from .choices import (
    CUSTOMER_STAGES,
    FINAL_STAGES,
    MILESTONES,
    DocumentStatus,
    EventKind,
    MessageKind,
    Milestone,
    Stage,
    milestone_of,
)
from .eta import Disbursement, Expectation, expected_completion, expected_disbursement, is_overdue
from .models import (
    Document,
    DocumentRequest,
    DocumentType,
    LoanApplication,
    Reason,
    StageDefinition,
    StageEvent,
    ThreadMessage,
    normalise_reference,
)
from .prediction import duration_table
from .reference import ReferenceData, reference_data

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


@dataclass(frozen=True)
class MilestoneInfo:
    milestone: Milestone
    definitions: list[StageDefinition]


def milestone_overview() -> list[MilestoneInfo]:
    """The five milestones with their stages' customer-facing words, for the public pages (from the
    cached configuration: no query)."""
    definitions = reference_data().definitions
    return [
        MilestoneInfo(m, [definitions[stage] for stage in m.stages if stage in definitions])
        for m in MILESTONES
    ]


# --- The customer's own applications ------------------------------------------------------------
# Every customer URL starts from ``customer_applications``: a reference that is not the signed-in
# customer's simply does not exist for them (404), whoever owns it.


def customer_applications(*, user: User | AnonymousUser) -> QuerySet[LoanApplication]:
    """The signed-in customer's applications, newest first, with the rows every customer page reads
    (applicant for the masked details, product, and the recorded cause of a delay)."""
    if not user.is_authenticated:
        return LoanApplication.objects.none()
    return LoanApplication.objects.filter(customer=user).select_related(
        "applicant", "product", "delay_reason"
    )


def customer_application_get(*, user: User | AnonymousUser, reference: str) -> LoanApplication | None:
    """One of the customer's applications by its reference as typed or linked (1 query)."""
    return customer_applications(user=user).filter(reference=normalise_reference(reference)).first()


def customer_timeline_application(*, user: User | AnonymousUser, reference: str) -> LoanApplication | None:
    """As ``customer_application_get``, with only what the timeline reads joined (the cause of a
    delay): the page reads it on every view, often only for its version (a 304, or a cached body to
    frame), and the applicant's encrypted details it never shows would be decrypted for nothing;
    and its question thread, if it has one, so that a file without questions reads no messages
    (1 query)."""
    return (
        customer_applications(user=user)
        .select_related(None)
        .select_related("delay_reason", "question_thread")
        .filter(reference=normalise_reference(reference))
        .first()
    )


@dataclass(frozen=True)
class TimelineVersion:
    """What the timeline reads on every view before knowing whether it must build anything: the
    file's version (the body's cache key and the ETag) and what the page's frame shows of it."""

    pk: int
    reference: str
    stage: str
    updated_at: dt.datetime
    history_head: str

    @property
    def display_reference(self) -> str:
        return LoanApplication(reference=self.reference).display_reference


def customer_timeline_version(*, user: User | AnonymousUser, reference: str) -> TimelineVersion | None:
    """The version of one of the customer's applications, by its reference (1 query of five
    columns): a repeat view (a 304, or a cached body to frame) reads nothing more, and a page
    that has to be built reads the file in full (``customer_timeline_application``)."""
    row = (
        customer_applications(user=user)
        .select_related(None)
        .filter(reference=normalise_reference(reference))
        .order_by()
        .values_list("pk", "reference", "stage", "updated_at", "history_head")[:1]
    )
    found = list(row)
    return TimelineVersion(*found[0]) if found else None


def application_for_tracking(*, reference: str, phone: str) -> LoanApplication | None:
    """The application with this reference whose applicant gave this mobile number, or None.

    The phone is compared through its keyed hash, so no stored number is ever decrypted; the caller
    has validated and normalised it (``pii.validate_phone``). One query.
    """
    return (
        LoanApplication.objects.filter(
            reference=normalise_reference(reference), applicant__phone_hash=keyed_hash(phone)
        )
        .exclude(stage=Stage.DRAFT)  # a draft has not been sent to us yet: nothing to track
        .select_related("applicant", "product", "delay_reason")
        .first()
    )


@dataclass(frozen=True)
class ApplicationCard:
    application: LoanApplication
    milestone: Milestone | None  # None once closed without reaching disbursement
    definition: StageDefinition | None
    needs_action: bool  # waiting on the customer: documents or the offer

    @property
    def progress(self) -> int:
        """Percent as on the timeline: 20 per milestone done, 10 for the current one."""
        if self.application.stage == Stage.DISBURSED:
            return 100
        return (self.milestone.number - 1) * 20 + 10 if self.milestone else 0


def customer_application_cards(*, user: User | AnonymousUser) -> list[ApplicationCard]:
    """The "My applications" list (1 query: the applications; the stage definitions come from the cached configuration)."""
    applications = list(customer_applications(user=user).order_by("-created_at"))
    if not applications:
        return []
    definitions = reference_data().definitions
    return [
        ApplicationCard(
            application=app,
            milestone=milestone_of(app.stage),
            definition=definitions.get(app.stage),
            needs_action=app.stage in (Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING),
        )
        for app in applications
    ]


# --- The timeline -------------------------------------------------------------------------------

# Stages in which the customer can still usefully upload the documents the review needs.
DOCUMENT_STAGES = frozenset(
    {Stage.DRAFT, Stage.SUBMITTED, Stage.CREDIT_CHECK, Stage.UNDER_REVIEW, Stage.AWAITING_DOCUMENTS}
)
# The customer-visible history: stage changes, document events and causes of delay (their staff
# note is never shown). Assignments name staff and notes are internal; neither is ever read for a
# customer page (the query does not load them).
# Partner steps' events too: the current stay's steps are the timeline's sub-steps (``Timeline.
# partner_steps``); their data holds the kind, status and usual time, never the partner's own.
CUSTOMER_EVENT_KINDS = (EventKind.TRANSITION, EventKind.DOCUMENT, EventKind.DELAY, EventKind.PARTNER)
_CUSTOMER_EVENT_FIELDS = (
    "application_id",  # the related manager sets each event's application from it
    "sequence",
    "kind",
    "transition",
    "from_stage",
    "to_stage",
    "created_at",
    "reason_code",
    "data",
)


def _transition_sources(name: str) -> frozenset[str]:
    field = LoanApplication._meta.get_field("stage")
    return frozenset(t.source for t in field.get_all_transitions(LoanApplication) if t.name == name)


WITHDRAWABLE_STAGES = _transition_sources("withdraw")


@dataclass(frozen=True)
class MilestoneState:
    milestone: Milestone
    state: str  # "done", "current", "upcoming", "stopped" (closed here) or "not_reached"
    started_at: dt.datetime | None  # when it was last entered from an earlier milestone
    done_at: dt.datetime | None  # when it was last left for a later one


@dataclass(frozen=True)
class PartnerSubStep:
    """A partner's step of the current stay as the customer's timeline shows it (``partner_steps``)."""

    kind: str  # PartnerStepKind
    status: str  # PartnerStepStatus
    usual_days: int  # the limit in working days; 0: under a day, say it in hours
    limit_hours: int
    due_at: dt.datetime | None


@dataclass(frozen=True)
class DocumentNeed:
    document_type: DocumentType
    reason: Reason | None  # why: the rejected copy's reason, else the reviewer's request reason
    rejected: bool  # a copy was sent and not accepted


@dataclass
class Timeline:
    application: LoanApplication
    now: dt.datetime
    milestones: list[MilestoneState]
    progress: int  # percent, for the progress bar
    definition: StageDefinition | None  # the current stage's words and time limit
    expectation: Expectation | None  # staff stages: when the stage should be done
    disbursement: Disbursement | None  # open files: when the money should be paid out
    reply_by: dt.datetime | None  # customer stages: the customer's deadline
    overdue: bool  # an open stage past its time limit
    closing_reason: Reason | None  # final stages: why it ended
    needs: list[DocumentNeed]
    documents: list[Document]  # every document on file, oldest first
    events: list[StageEvent]  # customer-visible history, oldest first (no actors, no notes)
    events_total: int  # all customer-visible events, loaded or not (``latest_events``)
    reasons: dict[str, Reason]  # catalogue entries the events name, by code
    document_types: dict[str, DocumentType]  # by code, for the documents events name

    @property
    def stage(self) -> str:
        return self.application.stage

    @property
    def is_final(self) -> bool:
        return self.application.stage in FINAL_STAGES

    @property
    def current_milestone(self) -> Milestone | None:
        return next((m.milestone for m in self.milestones if m.state == "current"), None)

    @property
    def offer_waiting(self) -> bool:
        return self.application.stage == Stage.OFFER_PENDING

    @property
    def has_offer(self) -> bool:
        return self.application.approved_amount is not None

    @property
    def can_withdraw(self) -> bool:
        return self.application.stage in WITHDRAWABLE_STAGES

    @property
    def partner_steps(self) -> list[PartnerSubStep]:
        """The third parties' steps of the current stay, in the order they were requested, each as
        its latest event says: read from the history the timeline loaded (partner events are always
        loaded, as stage changes are), so they cost no query. None on a closed file."""
        if self.is_final:
            return []
        steps: dict[int, PartnerSubStep] = {}
        for event in self.events:
            if event.kind == EventKind.TRANSITION:
                steps = {}  # a new stay: the earlier stage's steps are history
            elif event.kind == EventKind.PARTNER and event.to_stage == self.stage:
                data = event.data or {}
                due = data.get("due_at")
                steps[data.get("step", event.sequence)] = PartnerSubStep(
                    kind=data.get("kind", ""),
                    status=data.get("status", ""),
                    usual_days=int(data.get("usual_days") or 0),
                    limit_hours=int(data.get("limit_hours") or 0),
                    due_at=dt.datetime.fromisoformat(due) if due else None,
                )
        return list(steps.values())

    @property
    def delay_notice(self) -> bool:
        """A recorded cause of delay (any open stage: waiting for the customer's documents is one),
        or a staff stage past its time limit."""
        if self.is_final:
            return False
        if self.application.delay_reason_id is not None:
            return True
        return self.overdue and self.application.stage not in CUSTOMER_STAGES


def _customer_events(application: LoanApplication, *, latest: int | None) -> tuple[list[StageEvent], int]:
    """The customer-visible events, oldest first, and how many there are.

    With ``latest``: every stage change (the milestones are read from them, and a file has a few
    dozen at most) plus the ``latest`` newest events of any visible kind, so that a file with
    hundreds of document events loads as many rows as a short one. Still one query: the rank and
    the total come from window functions, and the filter on the rank runs over them.
    """
    visible = application.events.filter(kind__in=CUSTOMER_EVENT_KINDS).only(*_CUSTOMER_EVENT_FIELDS)
    if latest is None:
        events = list(visible.order_by("sequence"))
        return events, len(events)
    ranked = visible.annotate(
        total=Window(Count("pk")),
        # Stage changes rank 0: always kept, and partner steps' events (a few a stay), which the
        # sub-steps are read from. The rest by age, the newest first.
        rank=Case(
            When(kind__in=(EventKind.TRANSITION, EventKind.PARTNER), then=Value(0)),
            default=Window(RowNumber(), order_by=F("sequence").desc()),
        ),
    )
    events = list(ranked.filter(rank__lte=latest).order_by("sequence"))
    # ``total`` is the window's annotation, which the model's type does not know.
    return events, (events[0].total if events else 0)  # type: ignore[attr-defined]


def _expected_dates(
    application: LoanApplication,
    definition: StageDefinition | None,
    reference: ReferenceData,
    *,
    now: dt.datetime,
) -> tuple[Expectation | None, Disbursement | None]:
    """The current stage's expected completion and the file's expected disbursement (``eta``)."""
    stage = application.stage
    table = duration_table(now=now)
    expectation = expected_completion(
        stage=stage,
        product_id=application.product_id,
        entered_at=application.stage_entered_at,
        due_at=application.stage_due_at,
        sla=definition.sla if definition else None,
        now=now,
        table=table,
    )
    disbursement = expected_disbursement(
        stage=stage,
        product_id=application.product_id,
        current=expectation,
        slas={code: d.sla for code, d in reference.definitions.items()},
        now=now,
        table=table,
    )
    return expectation, disbursement


def application_timeline(
    *, application: LoanApplication, now: dt.datetime | None = None, latest_events: int | None = None
) -> Timeline:
    """Everything the timeline page shows, in a fixed number of queries whatever the history's length.

    The application comes with applicant, product and delay reason joined (``customer_applications``
    or ``application_for_tracking``). Then: (1) the customer-visible events (with ``latest_events``,
    the stage changes and only that many of the newest events; ``events_total`` counts them all),
    (2) the documents with type and rejection reason, (3) the document requests with type and
    reason, and (4) for an open file, the stays' quantiles per stage and product with the working
    calendar they and the expected dates are counted on, when they are not cached (``prediction``:
    three queries, which beat keeps cached). The stage definitions, document types and reasons come from
    the cached configuration (``reference``: 3 more queries when it changed).
    """
    now = now or timezone.now()
    stage = application.stage
    events, events_total = _customer_events(application, latest=latest_events)
    reference = reference_data()
    definition = reference.definitions.get(stage)
    documents = list(
        application.documents.select_related("document_type", "rejection_reason").order_by(
            "uploaded_at", "pk"
        )
    )
    requests = list(
        application.document_requests.select_related("document_type", "reason").order_by("requested_at")
    )
    document_types = reference.document_types
    codes = {e.reason_code for e in events if e.reason_code}
    if application.closing_reason:
        codes.add(application.closing_reason)
    reasons = {code: reference.reasons[code] for code in codes if code in reference.reasons}

    milestones = milestone_states(stage=stage, events=events)
    needs: list[DocumentNeed] = []
    if stage in DOCUMENT_STAGES:
        # ``required_for_review``: annotated by the cached configuration (reference.py).
        required = [t for t in document_types.values() if t.required_for_review]  # type: ignore[attr-defined]
        needs = documents_needed(required=required, documents=documents, requests=requests)
    expectation, disbursement = None, None
    if stage not in FINAL_STAGES:  # a closed file has no expected dates, nor reads their figures
        expectation, disbursement = _expected_dates(application, definition, reference, now=now)
    return Timeline(
        application=application,
        now=now,
        milestones=milestones,
        progress=progress_percent(stage=stage, milestones=milestones),
        definition=definition,
        expectation=expectation,
        disbursement=disbursement,
        reply_by=application.stage_due_at if stage in CUSTOMER_STAGES else None,
        overdue=is_overdue(stage=stage, due_at=application.stage_due_at, now=now),
        closing_reason=reasons.get(application.closing_reason) if stage in FINAL_STAGES else None,
        needs=needs,
        documents=documents,
        events=events,
        events_total=events_total,
        reasons=reasons,
        document_types=document_types,
    )


def documents_needed(
    *, required: list[DocumentType], documents: list[Document], requests: list[DocumentRequest]
) -> list[DocumentNeed]:
    """What the customer still owes, from rows already loaded: the same rule as
    ``LoanApplication.missing_document_types`` (a test holds them together), plus the why.

    Owed: every type the review requires with no pending or accepted copy on file, and every type a
    reviewer requested with no pending or accepted copy uploaded since the request.
    """
    on_file = [(d.document_type_id, d.uploaded_at) for d in documents if d.status != DocumentStatus.REJECTED]
    owed: dict[int, DocumentType] = {}
    for doc_type in required:
        if not any(type_id == doc_type.pk for type_id, _at in on_file):
            owed[doc_type.pk] = doc_type
    open_requests: dict[int, DocumentRequest] = {}
    for request in requests:
        if not any(t == request.document_type_id and at >= request.requested_at for t, at in on_file):
            owed[request.document_type_id] = request.document_type
            open_requests[request.document_type_id] = request  # the latest one wins
    needs = []
    for type_id, doc_type in sorted(owed.items(), key=lambda item: item[1].code):
        rejected = [
            d for d in documents if d.document_type_id == type_id and d.status == DocumentStatus.REJECTED
        ]
        open_request = open_requests.get(type_id)
        if rejected and (open_request is None or rejected[-1].uploaded_at >= open_request.requested_at):
            needs.append(DocumentNeed(doc_type, rejected[-1].rejection_reason, rejected=True))
        else:
            needs.append(
                DocumentNeed(doc_type, open_request.reason if open_request else None, rejected=False)
            )
    return needs


def milestone_states(*, stage: str, events: list[StageEvent]) -> list[MilestoneState]:
    """The five milestones as done / current / upcoming, with when each was entered and left.

    Read from the stage changes in order: a change into a later milestone finishes every milestone
    it leaves behind; a change back (approval returned to review) makes the earlier one current
    again, and its "done" time is the latest one. A closing stage (rejected, withdrawn, expired)
    marks the milestone it closed in as "stopped" and the rest "not_reached"; disbursed finishes all.
    """
    started: dict[int, dt.datetime] = {}
    done: dict[int, dt.datetime] = {}
    stopped_in: int | None = None
    for event in events:
        if event.kind != EventKind.TRANSITION:
            continue
        source = milestone_of(event.from_stage) if event.from_stage else None
        target = milestone_of(event.to_stage)
        low = source.number if source else 0
        if target is None:  # rejected, withdrawn, expired
            stopped_in = low or 1
            done.pop(stopped_in, None)
            continue
        if target.number > low:
            for number in range(max(low, 1), target.number):
                done[number] = event.created_at
            started[target.number] = event.created_at
        elif target.number < low:
            for number in range(target.number, low + 1):
                done.pop(number, None)
        if event.to_stage == Stage.DISBURSED:
            done[target.number] = event.created_at
    current = milestone_of(stage)
    states = []
    for milestone in MILESTONES:
        number = milestone.number
        if stage == Stage.DISBURSED or (current and number < current.number):
            state = "done"
        elif current and number == current.number:
            state = "current"
        elif current:
            state = "upcoming"
        elif stopped_in is not None and number < stopped_in:
            state = "done"
        elif number == (stopped_in or 1):
            state = "stopped"
        else:
            state = "not_reached"
        states.append(
            MilestoneState(
                milestone,
                state,
                started.get(number) if state != "upcoming" and state != "not_reached" else None,
                done.get(number) if state == "done" else None,
            )
        )
    return states


def progress_percent(*, stage: str, milestones: list[MilestoneState]) -> int:
    """Percent for the progress bar: 20 per milestone done, 10 for being inside the current one."""
    if stage == Stage.DISBURSED:
        return 100
    done = sum(1 for m in milestones if m.state == "done")
    inside = any(m.state == "current" for m in milestones)
    return done * 20 + (10 if inside else 0)


def customer_drafts(*, user: User) -> QuerySet[LoanApplication]:
    """The customer's unsubmitted applications, newest change first, for "Continue your draft"
    (1 query: the applicant joined, the consents counted, so the next step needs no more)."""
    from django.db.models import Count

    from .choices import Stage
    from .models import LoanApplication

    return (
        LoanApplication.objects.filter(customer=user, stage=Stage.DRAFT)
        .select_related("applicant")
        .annotate(consent_count=Count("consents"))
        .order_by("-updated_at")
    )


# --- Questions ------------------------------------------------------------------------------------


def customer_thread_messages(*, application: LoanApplication) -> list[ThreadMessage]:
    """The application's question thread as its customer sees it: questions and answers, oldest
    first, never an internal note (1 query)."""
    return list(
        ThreadMessage.objects.filter(thread__application_id=application.pk)
        .exclude(kind=MessageKind.NOTE)
        .order_by("created_at", "pk")
    )


def customer_attachment_get(
    *, user: User | AnonymousUser, reference: str, public_id: uuid.UUID
) -> ThreadMessage | None:
    """An attachment of a question or answer on one of the customer's own applications; None for
    anything else, internal notes included (1 query)."""
    if not user.is_authenticated:
        return None
    return (
        ThreadMessage.objects.filter(
            public_id=public_id,
            thread__application__customer=user,
            thread__application__reference=normalise_reference(reference),
        )
        .exclude(kind=MessageKind.NOTE)
        .exclude(attachment="")
        .select_related("thread__application")
        .first()
    )
