"""Questions about an application: the customer asks, staff answer or note, the clock runs.

A question that finds the thread answered opens a wait whose first response is due
``settings.QUESTION_RESPONSE_HOURS`` working hours later (the working calendar, as for staff
stages); it is at risk at 80 % of that time. An answer closes the wait and records when. Questions
and answers are history events (``EventKind.MESSAGE``): the chain head moves, so the customer's
timeline shows them at once (its cache is keyed by the head), and the stage hooks tell the customer
of an answer. Internal notes are rows only: no event, no hook, nothing a customer could see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import sla
from ..choices import EventKind, MessageKind, Stage
from ..models import LoanApplication, QuestionThread, ThreadMessage
from ..sla import SlaState
from .documents import clean_original_name, upload_check
from .lifecycle import TransitionRefused, application_event_add

if TYPE_CHECKING:
    from accounts.models import User

MESSAGE_MAX_LENGTH = 2000


def response_limit() -> dt.timedelta:
    """The first-response time limit, in working time (``QUESTION_RESPONSE_HOURS``)."""
    return dt.timedelta(hours=settings.QUESTION_RESPONSE_HOURS)


def first_response_due(*, asked_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When a question asked at ``asked_at`` is at risk (80 % of the limit) and due, both counted
    in working time on the working calendar: asked on Friday at 17:00 with a 4-hour limit, due on
    Monday at 12:00 (two queries: the calendar)."""
    calendar = sla.load_calendar(around=asked_at.astimezone(dt.UTC).date())
    limit = response_limit()
    numerator, denominator = sla.AT_RISK_AT
    at_risk = sla.add_working_time(asked_at, limit * numerator / denominator, calendar)
    return at_risk, sla.add_working_time(asked_at, limit, calendar)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write your message.")}, code="required")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"body": _("Keep your message to %(limit)s characters.") % {"limit": MESSAGE_MAX_LENGTH}},
            code="max_length",
        )
    return body


def _locked_thread(application: LoanApplication, *, now: dt.datetime) -> QuestionThread:
    thread, _created = QuestionThread.objects.get_or_create(
        application=application, defaults={"created_at": now}
    )
    return QuestionThread.objects.select_for_update().get(pk=thread.pk)


def question_ask(
    *,
    application: LoanApplication,
    actor: User,
    body: str,
    attachment: UploadedFile | None = None,
    now: dt.datetime | None = None,
) -> ThreadMessage:
    """The customer's question about their own application, with an optional attachment (a PDF,
    JPEG or PNG by content, as documents: ``upload_check``). Opens a wait unless one is open."""
    if actor.pk is None or actor.pk != application.customer_id:
        raise PermissionDenied(_("Only the customer of this application may ask about it."))
    if application.stage == Stage.DRAFT:
        raise TransitionRefused(_("Send your application first; then you can ask about it."))
    now = now or timezone.now()
    text = _clean_body(body)
    content_type = ""
    if attachment is not None:
        content_type, _size = upload_check(attachment, field="attachment")
    with transaction.atomic():
        thread = _locked_thread(application, now=now)
        message = ThreadMessage(
            thread=thread, kind=MessageKind.QUESTION, author=actor, body=text, created_at=now
        )
        fields = ["last_message_at"]
        if not thread.awaiting_reply:
            at_risk, due = first_response_due(asked_at=now)
            message.response_due_at = due
            thread.awaiting_since, thread.at_risk_at, thread.response_due_at = now, at_risk, due
            thread.sla_state = SlaState.ON_TIME
            fields += ["awaiting_since", "at_risk_at", "response_due_at", "sla_state"]
        thread.last_message_at = now
        if attachment is not None:
            message.attachment_name = clean_original_name(attachment.name)
            message.attachment_type = content_type
            message.attachment.save("attachment", attachment, save=False)
        try:
            message.save(force_insert=True)
            thread.save(update_fields=fields)
            application_event_add(
                application=application,
                kind=EventKind.MESSAGE,
                actor=actor,
                data={"message": str(message.public_id), "from": "customer"},
                now=now,
            )
        except BaseException:
            if message.attachment:
                message.attachment.delete(save=False)  # nothing on disk for a row that never was
            raise
    return message


def _staff_only(actor: User) -> None:
    # Which files a member of staff may see and answer is the back office's scope (its queue of
    # threads lists only files in the stages their roles work); the core refuses anyone else.
    if not (actor.is_active and actor.is_staff):
        raise PermissionDenied(_("Only staff answer questions."))


def question_answer(
    *, thread: QuestionThread, actor: User, body: str, now: dt.datetime | None = None
) -> ThreadMessage:
    """A staff answer the customer sees (and is told of through the stage hooks). Closes the open
    wait: its question records when its first response came, and the thread leaves the queue."""
    _staff_only(actor)
    now = now or timezone.now()
    text = _clean_body(body)
    with transaction.atomic():
        locked = QuestionThread.objects.select_for_update().select_related("application").get(pk=thread.pk)
        message = ThreadMessage.objects.create(
            thread=locked, kind=MessageKind.ANSWER, author=actor, body=text, created_at=now
        )
        if locked.awaiting_reply:
            locked.messages.filter(response_due_at__isnull=False, answered_at__isnull=True).update(
                answered_at=now
            )
        locked.awaiting_since = locked.at_risk_at = locked.response_due_at = None
        locked.sla_state = SlaState.ON_TIME
        locked.last_message_at = now
        locked.save(
            update_fields=["awaiting_since", "at_risk_at", "response_due_at", "sla_state", "last_message_at"]
        )
        application_event_add(
            application=locked.application,
            kind=EventKind.MESSAGE,
            actor=actor,
            data={"message": str(message.public_id), "from": "staff"},
            now=now,
        )
    return message


def question_note_add(
    *, thread: QuestionThread, actor: User, body: str, now: dt.datetime | None = None
) -> ThreadMessage:
    """An internal note on the thread, for staff only: it answers nothing (the wait stays open),
    writes no history event and tells no one."""
    _staff_only(actor)
    return ThreadMessage.objects.create(
        thread=thread,
        kind=MessageKind.NOTE,
        author=actor,
        body=_clean_body(body),
        created_at=now or timezone.now(),
    )


# --- The clock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSlaChange:
    """A thread whose wait this pass found at risk or past its first-response limit."""

    thread_id: int
    application_id: int
    stage: str  # the application's stage: whose role answers when nobody holds the file
    sla_state: str  # SlaState after the pass
    awaiting_since: dt.datetime  # with the thread, names the wait
    response_due_at: dt.datetime


def questions_sla_advance(*, now: dt.datetime, batch: int) -> tuple[QuestionSlaChange, ...]:
    """Move the first-response clock of waiting threads: at risk past 80 % of the limit, breached
    past it, at most ``batch`` of each; return what changed. Call it inside the transaction that
    writes the reminders (the SLA sweep, under ``sla_advance``'s lock); threads an answer holds are
    skipped (``SKIP LOCKED``) and looked at again by the next pass, which finds nothing to repeat."""
    changes: list[QuestionSlaChange] = []
    waiting = QuestionThread.objects.filter(response_due_at__isnull=False)
    steps = (
        (SlaState.BREACHED, waiting.filter(response_due_at__lte=now).exclude(sla_state=SlaState.BREACHED)),
        (SlaState.AT_RISK, waiting.filter(at_risk_at__lte=now, sla_state=SlaState.ON_TIME)),
    )
    with transaction.atomic():
        for state, found in steps:
            rows = list(
                found.select_for_update(skip_locked=True, of=("self",))
                .order_by("response_due_at")
                .values_list(
                    "pk", "application_id", "application__stage", "awaiting_since", "response_due_at"
                )[:batch]
            )
            if not rows:
                continue
            QuestionThread.objects.filter(pk__in=[row[0] for row in rows]).update(sla_state=state)
            # A waiting thread has both times (the question that opened the wait set them together).
            changes += [
                QuestionSlaChange(pk, app, stage, state, since, due)
                for pk, app, stage, since, due in rows
                if since is not None and due is not None
            ]
    return tuple(changes)
