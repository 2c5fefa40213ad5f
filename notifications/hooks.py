"""Stage hooks of the notifications app (listed in settings.LOANPORTAL_STAGE_HOOKS)."""

from __future__ import annotations

from applications.choices import EventKind
from applications.hooks import StageChange, stage_hook
from applications.transitions import DELAY_CAUSE, TRANSITIONS

from .choices import Kind
from .services import notification_create


@stage_hook(EventKind.TRANSITION, EventKind.DOCUMENT, EventKind.DELAY, EventKind.MESSAGE)
def notify_customer(*, change: StageChange) -> None:
    """Tell the customer, in the inbox, that their application moved on (the message the
    transition's registry entry names, if any), that a document was not accepted, why a step
    runs late, or that staff answered their question (never what it says: they read it on the
    timeline). Same transaction, so a rolled-back change leaves no message."""
    if change.customer_id is None:
        return
    if change.kind == EventKind.MESSAGE:
        if change.data.get("from") == "staff":
            notification_create(
                recipient_id=change.customer_id,
                kind=Kind.QUESTION_ANSWERED,
                application_id=change.application_id,
                dedupe_key=f"answer:{change.application_id}:{change.sequence}",
                context={"stage": change.to_stage},
                now=change.created_at,
            )
        return
    if change.kind == EventKind.DELAY:
        if change.data.get("tell_customer", True):
            # Once per stay and cause: setting the same cause again in this stay tells nothing new.
            stay = change.data.get("stage_entered_at", "")
            notification_create(
                recipient_id=change.customer_id,
                kind=Kind(DELAY_CAUSE.notice),
                application_id=change.application_id,
                dedupe_key=f"delay:{change.application_id}:{stay}:{change.reason_code}",
                context={"stage": change.to_stage, "reason": change.reason_code},
                now=change.created_at,
            )
        return
    if change.kind == EventKind.DOCUMENT:
        if change.data.get("action") == "rejected":
            notification_create(
                recipient_id=change.customer_id,
                kind=Kind.DOCUMENT_REJECTED,
                application_id=change.application_id,
                dedupe_key=f"document:{change.application_id}:{change.sequence}",
                context={"document_type": change.data.get("type", ""), "reason": change.reason_code},
                now=change.created_at,
            )
        return
    notice = TRANSITIONS[change.transition].notice
    if notice is None:
        return
    notification_create(
        recipient_id=change.customer_id,
        kind=Kind(notice),
        application_id=change.application_id,
        dedupe_key=f"stage:{change.application_id}:{change.sequence}",
        context={"stage": change.to_stage, "reason": change.reason_code},
        now=change.created_at,
    )


@stage_hook(EventKind.ASSIGNMENT)
def notify_assignee(*, change: StageChange) -> None:
    """Tell staff a file was assigned to them (automatically or by a manager; not when they
    claimed it themselves)."""
    assignee = change.data.get("assignee")
    if not assignee or assignee == change.actor_id:
        return
    notification_create(
        recipient_id=assignee,
        kind=Kind.NEW_ASSIGNMENT,
        application_id=change.application_id,
        dedupe_key=f"assignment:{change.application_id}:{change.sequence}",
        context={"stage": change.to_stage},
        now=change.created_at,
    )
