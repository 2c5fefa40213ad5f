"""Stage hooks of the notifications app (listed in settings.LOANPORTAL_STAGE_HOOKS)."""

from __future__ import annotations

from applications.choices import FINAL_STAGES, EventKind, Stage
from applications.models import LoanApplication, StageEvent

from .choices import Kind
from .services import notification_create

# Steps the customer does not need a message about: they happen within seconds of each other.
_QUIET_STAGES = frozenset({Stage.SUBMITTED, Stage.CREDIT_CHECK})


def notify_customer(*, application: LoanApplication, event: StageEvent) -> None:
    """Tell the customer, in the inbox, that their application moved on or that a document was not
    accepted (same transaction, so a rolled-back change leaves no message)."""
    if application.customer_id is None:
        return
    if event.kind == EventKind.DOCUMENT:
        if event.data.get("action") == "rejected":
            notification_create(
                recipient_id=application.customer_id,
                kind=Kind.DOCUMENT_REJECTED,
                application=application,
                dedupe_key=f"document:{application.pk}:{event.sequence}",
                context={"document_type": event.data.get("type", ""), "reason": event.reason_code},
                now=event.created_at,
            )
        return
    if event.kind != EventKind.TRANSITION or event.to_stage in _QUIET_STAGES:
        return
    if event.to_stage == Stage.AWAITING_DOCUMENTS:
        kind = Kind.DOCUMENTS_REQUESTED
    elif event.to_stage == Stage.OFFER_PENDING:
        kind = Kind.OFFER_READY
    elif event.to_stage in FINAL_STAGES:
        kind = Kind.DECISION
    else:
        kind = Kind.STAGE_CHANGED
    notification_create(
        recipient_id=application.customer_id,
        kind=kind,
        application=application,
        dedupe_key=f"stage:{application.pk}:{event.sequence}",
        context={"stage": event.to_stage, "reason": event.reason_code},
        now=event.created_at,
    )


def notify_assignee(*, application: LoanApplication, event: StageEvent) -> None:
    """Tell staff a file was assigned to them (automatically or by a manager; not when they
    claimed it themselves)."""
    if event.kind != EventKind.ASSIGNMENT:
        return
    assignee = event.data.get("assignee")
    if not assignee or assignee == event.actor_id:
        return
    notification_create(
        recipient_id=assignee,
        kind=Kind.NEW_ASSIGNMENT,
        application=application,
        dedupe_key=f"assignment:{application.pk}:{event.sequence}",
        context={"stage": event.to_stage},
        now=event.created_at,
    )
