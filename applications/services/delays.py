"""Causes of delay: why the current stage runs late, from the reason catalogue (kind ``delay``).

Staff set or change a cause (the application page, a queue action); the portal sets the causes it
knows itself: the customer's documents outstanding (entering ``awaiting_documents``), the credit
bureau not answering (the pre-check), and, when the SLA clock finds a staff stage overdue with no
cause, the hour (outside working hours or a holiday) or else the reviewers' backlog. Each is one
history event (``EventKind.DELAY``: who, when, which cause) and the application's ``delay_reason``;
the customer is told through the hooks, once per stay and cause. A stage change clears the cause
(``lifecycle._transition``), which records it on the transition that ends the stay so the SLA
report can break breaches down by cause.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import hooks, owners, sla
from ..choices import FINAL_STAGES, EventKind, ReasonKind, Stage
from ..models import GENESIS_HASH, LoanApplication, Reason, StageEvent
from ..transitions import DELAY_CAUSE
from .lifecycle import ReasonRequired, TransitionRefused, event_record, refuse_if_held_by_another

if TYPE_CHECKING:
    from accounts.models import User

# The causes the portal sets itself, by catalogue code (``defaults.configuration.REASONS``).
WAITING_FOR_DOCUMENTS = "awaiting_documents"
WAITING_FOR_BUREAU = "bureau_unavailable"
OUTSIDE_WORKING_HOURS = "outside_working_hours"
REVIEWER_BACKLOG = "high_volume"

# Who works each stage, by the permission its staff transitions ask for: they may set its cause.
# Managers (``manage_applications``) may anywhere, and so may the file's current owner.
STAGE_PERMISSIONS: dict[str, str] = {
    Stage.UNDER_REVIEW: "applications.review_application",
    Stage.AWAITING_DOCUMENTS: "applications.review_application",
    Stage.APPROVAL: "applications.approve_application",
    Stage.OFFER_PENDING: "applications.approve_application",
    Stage.CONTRACT_SIGNING: "applications.process_contract",
    Stage.LIEN_REGISTRATION: "applications.process_contract",
    Stage.DISBURSEMENT: "applications.disburse_application",
}
MANAGE_PERMISSION = "applications.manage_applications"


# ``may_set_delay_cause``'s holder when the caller has not read it: asked through the owner selector.
_ASK = object()


def may_set_delay_cause(
    *, application: LoanApplication, user: User, holder_id: int | object | None = _ASK
) -> bool:
    """A manager (any stage); else the file's current owner; else, on a file nobody holds, staff
    who work its stage. A colleague's file is theirs: claim it first, as before a transition.
    ``holder_id``: who holds the file, when the caller knows (the application page does)."""
    if not (user.is_active and user.is_staff) or application.stage in FINAL_STAGES:
        return False
    if user.has_perm(MANAGE_PERMISSION):
        return True
    holder = owners.owner_id(application.pk) if holder_id is _ASK else holder_id
    if holder is not None:
        return holder == user.pk
    permission = STAGE_PERMISSIONS.get(application.stage)
    return bool(permission and user.has_perm(permission))


def delay_cause_set(
    *,
    application: LoanApplication,
    reason: Reason,
    actor: User | None,
    note: str = "",
    tell_customer: bool = True,
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Set or change the cause of the current stage's delay; ``actor`` None: the portal itself.

    Locks the row, checks the reason (an active catalogue reason of the delay kind) and who may,
    writes the ``DELAY`` event and runs the hooks, which tell the customer the cause and its remedy
    once per stay and cause (``tell_customer=False`` when another message already carries it, as
    the sweep's delay notice and the documents request do). The cause already set: nothing changes.
    ``note`` is for staff; the customer never sees it.
    """
    if reason.kind != ReasonKind.DELAY or not reason.is_active:
        raise ReasonRequired(_("Choose a cause of delay from the catalogue."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = LoanApplication.objects.select_for_update(of=("self",)).get(pk=application.pk)
        if locked.stage in FINAL_STAGES:
            raise TransitionRefused(
                _("This application is closed (“%(stage)s”): it has no delay.")
                % {"stage": locked.get_stage_display()}
            )
        if actor is not None:
            refuse_if_held_by_another(application=locked, actor=actor)  # a colleague's: claim first
            if not may_set_delay_cause(application=locked, user=actor):
                raise PermissionDenied(_("You do not work this application's stage."))
        if locked.delay_reason_id == reason.pk:
            return locked
        previous = (
            Reason.objects.filter(pk=locked.delay_reason_id).values_list("code", flat=True).first()
            if locked.delay_reason_id
            else None
        )
        event = event_record(
            application=locked,
            kind=EventKind.DELAY,
            from_stage=locked.stage,
            to_stage=locked.stage,
            actor=actor,
            transition_name=DELAY_CAUSE.name,
            note=note,
            reason_code=reason.code,
            data={
                # The stay the cause belongs to: with the application, the customer's dedupe key.
                "stage_entered_at": locked.stage_entered_at.astimezone(dt.UTC).isoformat(),
                "previous": previous or "",
                "tell_customer": tell_customer,
            },
            now=now,
        )
        locked.delay_reason = reason
        locked.save(update_fields=["delay_reason", "event_count", "history_head", "updated_at"])
        hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=locked.customer_id))
        locked.refresh_from_db(fields=["event_count", "history_head", "updated_at"])
    return locked


def delay_causes_record(*, application_ids: list[int], reason: Reason, now: dt.datetime) -> None:
    """The portal's own cause for many applications at once, quietly (the SLA clock's pass: the
    sweep's delay notice carries the cause to the customer). Set-based, so a pass costs the same
    queries for one file or a thousand: one read of the rows (the caller's transaction holds their
    locks already), one insert of the events, one update of the applications. The hooks run for
    each event, as for any other."""
    applications = list(
        LoanApplication.objects.filter(pk__in=application_ids)
        .select_related("delay_reason")
        .only(
            "reference",
            "stage",
            "customer_id",
            "stage_entered_at",
            "event_count",
            "history_head",
            "delay_reason__code",
        )
        .order_by("pk")
    )
    events = []
    for application in applications:
        event = StageEvent(
            application=application,
            sequence=application.event_count + 1,
            kind=EventKind.DELAY,
            transition=DELAY_CAUSE.name,
            from_stage=application.stage,
            to_stage=application.stage,
            actor=None,
            created_at=now,
            reason_code=reason.code,
            data={
                "stage_entered_at": application.stage_entered_at.astimezone(dt.UTC).isoformat(),
                "previous": application.delay_reason.code if application.delay_reason else "",
                "tell_customer": False,
            },
            prev_hash=application.history_head or GENESIS_HASH,
        )
        event.hash = event.compute_hash(application.reference)
        events.append(event)
        application.event_count, application.history_head = event.sequence, event.hash
        application.delay_reason = reason
        application.updated_at = now
    StageEvent.objects.bulk_create(events)
    _heads_update(applications, reason=reason, now=now)
    for application, event in zip(applications, events, strict=True):
        hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=application.customer_id))


def _heads_update(applications: list[LoanApplication], *, reason: Reason, now: dt.datetime) -> None:
    """One UPDATE of the applications' cause and chain heads, joined to arrays of the new heads.
    (``bulk_update`` writes a ``CASE WHEN id = … THEN …`` per row and column, which PostgreSQL
    walks for every row: a sweep pass of 5,000 overdue files spent two seconds in it.)"""
    if not applications:
        return
    table = LoanApplication._meta.db_table
    # Only the model's own table name is joined in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET delay_reason_id = %s, updated_at = %s,"  # noqa: S608
        " event_count = heads.event_count, history_head = heads.history_head"
        " FROM unnest(%s::bigint[], %s::integer[], %s::text[]) AS heads(id, event_count, history_head)"
        f" WHERE {table}.id = heads.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                reason.pk,
                now,
                [application.pk for application in applications],
                [application.event_count for application in applications],
                [application.history_head for application in applications],
            ],
        )


def automatic_cause(code: str) -> Reason | None:
    """A cause the portal sets itself, if the catalogue has it active (an operator may retire one)."""
    return Reason.objects.filter(code=code, kind=ReasonKind.DELAY, is_active=True).first()


def is_working_time(now: dt.datetime) -> bool:
    """Whether ``now`` falls in working hours on a working day of the working calendar."""
    calendar = sla.load_calendar(around=now.astimezone(dt.UTC).date(), days=2)
    local = now.astimezone(calendar.time_zone)
    return calendar.is_working_day(local.date()) and calendar.day_start <= local.time() < calendar.day_end


@hooks.stage_hook(EventKind.TRANSITION)
def cause_on_stage_entry(*, change: hooks.StageChange) -> None:
    """An application that enters ``awaiting_documents`` waits for the customer's documents: the
    cause is recorded at once. The customer is not told twice: the documents request says it."""
    if change.to_stage != Stage.AWAITING_DOCUMENTS:
        return
    reason = automatic_cause(WAITING_FOR_DOCUMENTS)
    if reason is None:
        return
    delay_cause_set(
        application=LoanApplication(pk=change.application_id),
        reason=reason,
        actor=None,
        tell_customer=False,
        now=change.created_at,
    )
