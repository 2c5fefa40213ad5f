"""The SLA sweep: the core's clock moves on (``applications.services.sla_advance``) and this turns
what changed into notifications — the owner's reminder, the managers' escalation, the customer's
delay notice — and sends the missing-document nudges, all in one transaction per pass. The
first-response clock of customers' questions moves in the same pass
(``applications.services.questions_sla_advance``): the file's owner is reminded when an answer is
close to due and again when it is overdue, and the managers are told when it is. So does the clock
of partners' steps (``applications.services.partner_steps_sla_advance``), with the same reminders.

Who owns a file now is the back office's to say: it is asked through
``settings.LOANPORTAL_OWNER_SELECTOR``, never imported.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.roles import Role
from applications.choices import Stage
from applications.models import LoanApplication, StageDefinition
from applications.services import (
    PartnerStepSlaChange,
    QuestionSlaChange,
    SlaChange,
    SlaChanges,
    partner_steps_sla_advance,
    questions_sla_advance,
    sla_advance,
)
from applications.sla import SlaState

from ..choices import Kind
from ..models import Notification, SweepRun
from .outbox import NewNotification, chunks, notifications_create_many

SWEEP_NAME = "sla_sweep"
NUDGE_FIRST_AFTER = dt.timedelta(hours=24)
NUDGE_EVERY = dt.timedelta(hours=48)
NUDGE_AT_MOST = 3


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    escalated_again: int = 0
    nudged: int = 0
    questions_at_risk: int = 0
    questions_breached: int = 0
    partner_steps_at_risk: int = 0
    partner_steps_breached: int = 0
    notifications: int = 0
    skipped: bool = False  # another sweep held the lock
    more: bool = False  # the pass stopped at its batch size: more stages are waiting for the next

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k not in ("skipped", "more")}


def sla_sweep(*, now: dt.datetime | None = None, batch: int | None = None) -> SweepResult:
    """One pass of the SLA clock, in one transaction: the core sets each open staff stage's SLA
    state and marks second escalations (``sla_advance``, under its lock), then this writes the
    owner reminders, the manager escalations, the customer delay notices and the missing-document
    nudges (dedupe keys make a repeated or concurrent pass add nothing). Records the time of the run.

    A pass changes at most ``batch`` stages and marks at most ``batch`` second escalations
    (``SLA_SWEEP_BATCH``), so its transaction and the rows it locks stay small whatever the
    backlog: after an outage of beat or a data load, ``more`` says the pass stopped short and the
    task queues the next one at once."""
    now = now or timezone.now()
    batch = batch or settings.SLA_SWEEP_BATCH
    started = time.monotonic()
    result = SweepResult()
    with transaction.atomic():  # the new states and their notifications commit together
        changes = sla_advance(now=now, batch=batch)
        if changes.skipped:
            result.skipped = True
            return result
        result.more = changes.more
        rows = _sla_rows(changes)
        questions = questions_sla_advance(now=now, batch=batch)
        rows += _question_rows(questions)
        partner_steps = partner_steps_sla_advance(now=now, batch=batch)
        rows += _partner_step_rows(partner_steps)
        result.partner_steps_at_risk = sum(p.sla_state == SlaState.AT_RISK for p in partner_steps)
        result.partner_steps_breached = sum(p.sla_state == SlaState.BREACHED for p in partner_steps)
        nudges = _nudge_rows(now=now)
        result.questions_at_risk = sum(q.sla_state == SlaState.AT_RISK for q in questions)
        result.questions_breached = sum(q.sla_state == SlaState.BREACHED for q in questions)
        result.at_risk = changes.at_risk
        result.breached = changes.breached
        result.escalated_again = len(changes.escalated_again)
        result.nudged = len(nudges)
        result.notifications = notifications_create_many(rows=rows + nudges, now=now)
        SweepRun.objects.update_or_create(
            name=SWEEP_NAME,
            defaults={
                "finished_at": timezone.now(),
                "duration_ms": int((time.monotonic() - started) * 1000),
                "counts": result.as_dict(),
            },
        )
    return result


def sla_sweep_health(*, now: dt.datetime | None = None) -> tuple[dt.datetime | None, bool]:
    """The last successful sweep and whether it is stale (older than three beat intervals)."""
    now = now or timezone.now()
    last = SweepRun.objects.filter(name=SWEEP_NAME).values_list("finished_at", flat=True).first()
    interval = dt.timedelta(seconds=float(getattr(settings, "SLA_SWEEP_INTERVAL", 300)))
    return last, last is None or now - last > 3 * interval


# --- Who hears about a file ---------------------------------------------------------------------

OwnerSelector = Callable[[Collection[int]], Mapping[int, int]]


@cache
def _owner_selector(path: str) -> OwnerSelector | None:
    if not path:
        return None
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"LOANPORTAL_OWNER_SELECTOR: cannot import {path} ({exc}).") from exc


def current_owners(application_ids: list[int]) -> dict[int, int]:
    """{application id: user id} of the files someone owns now, as the selector the settings name
    says (``LOANPORTAL_OWNER_SELECTOR``); asked at most 5,000 ids at a time."""
    selector = _owner_selector(settings.LOANPORTAL_OWNER_SELECTOR or "")
    owners: dict[int, int] = {}
    if selector is not None:
        for chunk in chunks(application_ids):
            owners.update(selector(chunk))
    return owners


class _Audience:
    """Who hears about an application's stage: its owner(s), the managers, the customer."""

    def __init__(self, application_ids: list[int]) -> None:
        # The owners of the files whose owners are told: as many as changed state this pass (a
        # handful each beat), not every late file on the book.
        self.owner = current_owners(application_ids)
        self.owner_role = dict(StageDefinition.objects.values_list("stage", "owner_role"))
        members: dict[str, list[int]] = {}
        for user_id, role in (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=set(self.owner_role.values()) | {Role.MANAGER})
            .values_list("pk", "groups__name")
        ):
            members.setdefault(role, []).append(user_id)
        self.members = members
        self.managers = members.get(Role.MANAGER, [])

    def owners(self, change: SlaChange | QuestionSlaChange | PartnerStepSlaChange) -> list[int]:
        """The file's current owner, else every active member of the stage's owner role."""
        if change.application_id in self.owner:
            return [self.owner[change.application_id]]
        return self.members.get(self.owner_role.get(change.stage, ""), [])


def _stamp(moment: dt.datetime) -> str:
    """The occurrence part of a dedupe key: the stage entry time, to the microsecond, in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")


def _sla_rows(changes: SlaChanges) -> list[NewNotification]:
    """The notifications of what the clock changed. Each dedupe key names the file, the stay
    (its entry time) and the recipient: a stay is told about once, however many passes see it."""
    if not changes.changed and not changes.escalated_again:
        return []
    audience = _Audience([change.application_id for change in changes.changed])
    rows: list[NewNotification] = []

    def add(kind: str, change: SlaChange, recipients: list[int], tag: str = "") -> None:
        context: dict[str, str] = {
            "stage": change.stage,
            "due": change.stage_due_at.isoformat() if change.stage_due_at else "",
            "reason": change.delay_reason,
        }
        if tag:
            context["level"] = tag
        occurrence = f"sla:{kind}{tag}:{change.application_id}:{_stamp(change.stage_entered_at)}"
        for recipient in recipients:
            rows.append(
                NewNotification(recipient, kind, f"{occurrence}:{recipient}", change.application_id, context)
            )

    for change in changes.changed:
        if change.sla_state == SlaState.AT_RISK:
            add(Kind.SLA_AT_RISK, change, audience.owners(change))
        elif change.sla_state == SlaState.BREACHED:
            add(Kind.SLA_BREACHED, change, audience.owners(change))
            add(Kind.SLA_ESCALATION, change, audience.managers, tag="100")
            if change.customer_id:
                add(Kind.DELAY_NOTICE, change, [change.customer_id])
    for change in changes.escalated_again:
        add(Kind.SLA_ESCALATION, change, audience.managers, tag="150")
    return rows


def _question_rows(changes: tuple[QuestionSlaChange, ...]) -> list[NewNotification]:
    """The reminders of questions waiting for a first response: the file's owner (else the stage's
    role) at risk and again once overdue, the managers once overdue. Each dedupe key names the wait
    (the thread and when it began), the level and the recipient: a repeated pass adds nothing."""
    if not changes:
        return []
    audience = _Audience([change.application_id for change in changes])
    rows: list[NewNotification] = []
    for change in changes:
        occurrence = f"question:{change.thread_id}:{_stamp(change.awaiting_since)}"
        context = {
            "stage": change.stage,
            "due": change.response_due_at.isoformat(),
            "level": change.sla_state,
        }
        for recipient in audience.owners(change):
            key = f"{occurrence}:remind:{change.sla_state}:{recipient}"
            rows.append(
                NewNotification(recipient, Kind.QUESTION_REMINDER, key, change.application_id, context)
            )
        if change.sla_state == SlaState.BREACHED:
            for recipient in audience.managers:
                key = f"{occurrence}:escalate:{recipient}"
                rows.append(
                    NewNotification(recipient, Kind.QUESTION_ESCALATION, key, change.application_id, context)
                )
    return rows


def _partner_step_rows(changes: tuple[PartnerStepSlaChange, ...]) -> list[NewNotification]:
    """The reminders of partners' steps close to or past their time limit: the file's owner (else
    the stage's role), who chases the partner, at risk and again once overdue; the managers once
    overdue. Each dedupe key names the request (the step and when it was asked for: a step asked
    again is a new request), the level and the recipient: a repeated pass adds nothing."""
    if not changes:
        return []
    audience = _Audience([change.application_id for change in changes])
    rows: list[NewNotification] = []
    for change in changes:
        occurrence = f"partner:{change.step_id}:{_stamp(change.requested_at)}"
        context = {
            "stage": change.stage,
            "step": change.kind,
            "due": change.due_at.isoformat(),
            "level": change.sla_state,
        }
        for recipient in audience.owners(change):
            key = f"{occurrence}:remind:{change.sla_state}:{recipient}"
            rows.append(
                NewNotification(recipient, Kind.PARTNER_STEP_REMINDER, key, change.application_id, context)
            )
        if change.sla_state == SlaState.BREACHED:
            for recipient in audience.managers:
                key = f"{occurrence}:escalate:{recipient}"
                rows.append(
                    NewNotification(
                        recipient, Kind.PARTNER_STEP_ESCALATION, key, change.application_id, context
                    )
                )
    return rows


# --- Missing-document nudges --------------------------------------------------------------------


def _nudge_rows(*, now: dt.datetime) -> list[NewNotification]:
    """Missing-document reminders: 24 h after the request, then every 48 h, at most three.

    One query finds the applications due one (waiting on documents, with the count and time of
    the reminders sent since the stage began); the next number goes into the dedupe key.
    """
    sent = Notification.objects.filter(
        application_id=OuterRef("pk"),
        kind=Kind.DOCUMENTS_REMINDER,
        created_at__gte=OuterRef("stage_entered_at"),
    )
    due = (
        LoanApplication.objects.filter(stage=Stage.AWAITING_DOCUMENTS, customer__isnull=False)
        .filter(stage_entered_at__lte=now - NUDGE_FIRST_AFTER)
        .annotate(
            sent=Coalesce(Subquery(sent.values("application_id").annotate(n=Count("pk")).values("n")[:1]), 0),
            last=Subquery(sent.order_by("-created_at").values("created_at")[:1]),
        )
        .filter(Q(sent=0) | Q(sent__lt=NUDGE_AT_MOST, last__lte=now - NUDGE_EVERY))
        .values("id", "customer_id", "stage_entered_at", "sent")
    )
    return [
        NewNotification(
            app["customer_id"],
            Kind.DOCUMENTS_REMINDER,
            f"nudge:{app['id']}:{_stamp(app['stage_entered_at'])}:{app['sent'] + 1}",
            app["id"],
            {"stage": Stage.AWAITING_DOCUMENTS, "number": app["sent"] + 1},
        )
        for app in due
    ]
