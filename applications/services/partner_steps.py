"""Third parties' steps within a stage: requested when a file enters the stage, reported by the
partner (the API's callback, the sandbox) or by staff (the back office), chased by the SLA sweep.

A file that enters a stage gets one step per active requirement of that stage
(``PartnerStepRequirement``), each due its limit in working hours later on the working calendar
and at risk at 80 % of it, as staff stages and customers' questions are. Every change is a history
event (``EventKind.PARTNER``): the chain head moves, so the customer's timeline (which shows the
stay's steps as sub-steps, read from those events) and its ETag change at once. The stage moves on
only when its required steps are done (``LoanApplication.partner_steps_done``, a count kept on
the row under its lock). A failed step records a cause of delay from the catalogue, which becomes
the file's (``delay_cause_set``): the customer is told why, once.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import hooks, sla
from ..choices import (
    FINAL_STAGES,
    OPEN_PARTNER_STATUSES,
    EventKind,
    PartnerStepKind,
    PartnerStepStatus,
    ReasonKind,
)
from ..models import LoanApplication, PartnerStep, PartnerStepRequirement, Reason, StageEvent
from ..sla import SlaState
from ..transitions import PARTNER_STEP
from .delays import MANAGE_PERMISSION, STAGE_PERMISSIONS, automatic_cause, delay_cause_set
from .lifecycle import ReasonRequired, TransitionRefused, event_record

if TYPE_CHECKING:
    from accounts.models import User

# The cause a failed step records when whoever reports it gives none (``defaults.configuration``).
PARTNER_STEP_FAILED = "partner_step_failed"

# Where a step may go from each status. A failed step is asked for again (back to requested, on a
# new clock); a done one is final.
NEXT_STATUSES: dict[str, frozenset[str]] = {
    PartnerStepStatus.REQUESTED: frozenset(
        {PartnerStepStatus.IN_PROGRESS, PartnerStepStatus.DONE, PartnerStepStatus.FAILED}
    ),
    PartnerStepStatus.IN_PROGRESS: frozenset({PartnerStepStatus.DONE, PartnerStepStatus.FAILED}),
    PartnerStepStatus.FAILED: frozenset({PartnerStepStatus.REQUESTED}),
    PartnerStepStatus.DONE: frozenset(),
}


@dataclass(frozen=True)
class StepClock:
    at_risk_at: dt.datetime
    due_at: dt.datetime
    usual_days: int  # the limit in whole working days, rounded up; 0 when under one day


def partner_step_clock(
    *, requested_at: dt.datetime, limit_hours: int, calendar: sla.Calendar | None = None
) -> StepClock:
    """When a step requested at ``requested_at`` is at risk (80 % of its limit) and due, counted in
    working time on the working calendar: requested on Friday at 17:00 with 18 working hours
    (two working days of 09:00–18:00), it is due on Tuesday at 17:00 (a holiday Monday: Wednesday).
    Reads the calendar (two queries) unless given one."""
    calendar = calendar or sla.load_calendar(around=requested_at.astimezone(dt.UTC).date())
    limit = dt.timedelta(hours=limit_hours)
    numerator, denominator = sla.AT_RISK_AT
    opens = dt.datetime.combine(dt.date.min, calendar.day_start)
    closes = dt.datetime.combine(dt.date.min, calendar.day_end)
    day_hours = (closes - opens) / dt.timedelta(hours=1) or 24.0
    return StepClock(
        at_risk_at=sla.add_working_time(requested_at, limit * numerator / denominator, calendar),
        due_at=sla.add_working_time(requested_at, limit, calendar),
        usual_days=math.ceil(limit_hours / day_hours) if limit_hours >= day_hours else 0,
    )


def _event_data(step: PartnerStep) -> dict[str, Any]:
    """What the history keeps of a step's change: enough for the customer's sub-step (kind, status,
    due time, usual length), nothing of the partner's own (its name, its references)."""
    return {
        "step": step.pk,
        "kind": step.kind,
        "status": step.status,
        "required": step.required,
        "due_at": step.due_at.astimezone(dt.UTC).isoformat(),
        "limit_hours": step.limit_hours,
        "usual_days": step.usual_days,
    }


def _record(
    *,
    application: LoanApplication,
    step: PartnerStep,
    actor: User | None,
    note: str = "",
    reason_code: str = "",
    now: dt.datetime,
) -> StageEvent:
    return event_record(
        application=application,
        kind=EventKind.PARTNER,
        from_stage=application.stage,
        to_stage=application.stage,
        actor=actor,
        transition_name=PARTNER_STEP.name,
        note=note,
        reason_code=reason_code,
        data=_event_data(step),
        now=now,
    )


def _waiting_count(application: LoanApplication) -> int:
    """Required steps of the application's current stay not done yet (one query)."""
    return (
        PartnerStep.objects.filter(
            application=application,
            stage=application.stage,
            required=True,
            requested_at__gte=application.stage_entered_at,
        )
        .exclude(status=PartnerStepStatus.DONE)
        .count()
    )


def partner_steps_request(*, application_id: int, stage: str, now: dt.datetime) -> list[PartnerStep]:
    """Request the steps the stage needs, for the stay that began at ``now`` (the stage hook's
    transition): one row and one history event each, and the count the stage waits for. Nothing
    when the stage needs none. Runs inside the transition's transaction."""
    requirements = list(PartnerStepRequirement.objects.filter(stage=stage, is_active=True).order_by("kind"))
    if not requirements or stage in FINAL_STAGES:
        return []
    calendar = sla.load_calendar(around=now.astimezone(dt.UTC).date())
    with transaction.atomic():
        locked = LoanApplication.objects.select_for_update(of=("self",)).get(pk=application_id)
        steps = []
        for requirement in requirements:
            clock = partner_step_clock(
                requested_at=now, limit_hours=requirement.limit_hours, calendar=calendar
            )
            steps.append(
                PartnerStep(
                    application=locked,
                    stage=stage,
                    kind=requirement.kind,
                    partner_name=requirement.partner_name,
                    required=requirement.required,
                    limit_hours=requirement.limit_hours,
                    requested_at=now,
                    at_risk_at=clock.at_risk_at,
                    due_at=clock.due_at,
                    usual_days=clock.usual_days,
                )
            )
        PartnerStep.objects.bulk_create(steps)
        events = [_record(application=locked, step=step, actor=None, now=now) for step in steps]
        locked.partner_steps_waiting = sum(step.required for step in steps)
        locked.save(update_fields=["event_count", "history_head", "partner_steps_waiting", "updated_at"])
        for event in events:
            hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=locked.customer_id))
        _sandbox_answers([step.pk for step in steps])
    return steps


def _sandbox_answers(step_ids: list[int]) -> None:
    """With ``settings.PARTNER_SANDBOX`` (development, `make run`), the sandbox partner answers each
    step by itself once the request commits (``tasks.partner_sandbox_answer``)."""
    if not settings.PARTNER_SANDBOX:
        return
    from ..tasks import enqueue_partner_sandbox  # tasks import the services

    def enqueue() -> None:
        for step_id in step_ids:
            enqueue_partner_sandbox(step_id)

    transaction.on_commit(enqueue)


@hooks.stage_hook(EventKind.TRANSITION)
def steps_on_stage_entry(*, change: hooks.StageChange) -> None:
    """A file that enters a stage asks the partners for that stage's steps (``settings``'s hook
    list names this, after the core's own hooks)."""
    partner_steps_request(application_id=change.application_id, stage=change.to_stage, now=change.created_at)


def may_record_partner_step(*, step: PartnerStep, user: User) -> bool:
    """Staff who work the step's stage (its transitions' permission), or managers."""
    if not (user.is_active and user.is_staff):
        return False
    if user.has_perm(MANAGE_PERMISSION):
        return True
    permission = STAGE_PERMISSIONS.get(step.stage)
    return bool(permission and user.has_perm(permission))


def partner_step_report(
    *,
    step: PartnerStep,
    status: str,
    note: str = "",
    cause: Reason | None = None,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> PartnerStep:
    """Record a partner's progress on a step: under way, done, failed (with a cause of delay from
    the catalogue; ``partner_step_failed`` when none is given), or asked for again after a failure
    (a new clock from ``now``). ``actor`` None: the partner itself (the API's callback, the
    sandbox); else a member of staff recording the partner's answer (``may_record_partner_step``).
    ``note`` is for staff; the customer never sees it.

    The same status again changes nothing (a partner's retried callback); a move the step cannot
    make (a done step failing) is refused. Writes a history event; a failure in the file's current
    stay becomes its cause of delay, and the step the stage waits for, once done, lets it move on.
    """
    if status not in PartnerStepStatus.values:
        raise TransitionRefused(_("Unknown status of a partner step: %(status)s.") % {"status": status})
    if actor is not None and not may_record_partner_step(step=step, user=actor):
        raise PermissionDenied(_("You do not work this partner step's stage."))
    if cause is not None and (cause.kind != ReasonKind.DELAY or not cause.is_active):
        raise ReasonRequired(_("Choose a cause of delay from the catalogue."))
    now = now or timezone.now()
    with transaction.atomic():
        application = LoanApplication.objects.select_for_update(of=("self",)).get(pk=step.application_id)
        locked = PartnerStep.objects.select_for_update().get(pk=step.pk)
        if status == locked.status:
            return locked
        if status not in NEXT_STATUSES[locked.status]:
            raise TransitionRefused(
                _("This partner step is “%(current)s”: it cannot become “%(status)s”.")
                % {
                    "current": locked.get_status_display(),
                    "status": PartnerStepStatus(status).label,
                }
            )
        locked.status = status
        if status == PartnerStepStatus.FAILED:
            cause = cause or automatic_cause(PARTNER_STEP_FAILED)
            locked.finished_at, locked.failure_cause = now, cause
        elif status == PartnerStepStatus.DONE:
            locked.finished_at = now
        elif status == PartnerStepStatus.REQUESTED:  # asked again: a new clock
            clock = partner_step_clock(requested_at=now, limit_hours=locked.limit_hours)
            locked.requested_at, locked.at_risk_at, locked.due_at = now, clock.at_risk_at, clock.due_at
            locked.usual_days, locked.finished_at, locked.failure_cause = clock.usual_days, None, None
            locked.sla_state = SlaState.ON_TIME
        locked.save()
        event = _record(
            application=application,
            step=locked,
            actor=actor,
            note=note,
            reason_code=cause.code if status == PartnerStepStatus.FAILED and cause else "",
            now=now,
        )
        in_this_stay = (
            application.stage == locked.stage and locked.requested_at >= application.stage_entered_at
        )
        application.partner_steps_waiting = _waiting_count(application)
        application.save(update_fields=["event_count", "history_head", "partner_steps_waiting", "updated_at"])
        hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=application.customer_id))
        if status == PartnerStepStatus.FAILED and cause is not None and in_this_stay:
            delay_cause_set(application=application, reason=cause, actor=None, now=now)
        if status == PartnerStepStatus.REQUESTED and in_this_stay:
            _sandbox_answers([locked.pk])
    return locked


def partner_steps_waited_for(*, application: LoanApplication) -> str:
    """The required steps of the current stay not done yet, named for staff (the refusal of a
    transition that would move the stage on)."""
    kinds = (
        PartnerStep.objects.filter(
            application=application,
            stage=application.stage,
            required=True,
            requested_at__gte=application.stage_entered_at,
        )
        .exclude(status=PartnerStepStatus.DONE)
        .order_by("kind")
        .values_list("kind", flat=True)
    )
    return ", ".join(str(PartnerStepKind(kind).label) for kind in kinds)


# --- The clock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerStepSlaChange:
    """An open step this pass found at risk or past its time limit."""

    step_id: int
    application_id: int
    stage: str  # whose role chases the partner when nobody holds the file
    kind: str  # PartnerStepKind
    sla_state: str  # SlaState after the pass
    requested_at: dt.datetime  # with the step, names the request (a step asked again is a new one)
    due_at: dt.datetime


def partner_steps_sla_advance(*, now: dt.datetime, batch: int) -> tuple[PartnerStepSlaChange, ...]:
    """Move the clock of open steps in their file's current stay: at risk past 80 % of the limit,
    breached past it, at most ``batch`` of each; return what changed. Call it inside the transaction
    that writes the reminders (the SLA sweep); steps a report holds are skipped (``SKIP LOCKED``) and
    looked at again by the next pass, which finds nothing to repeat."""
    changes: list[PartnerStepSlaChange] = []
    open_steps = PartnerStep.objects.filter(
        status__in=sorted(OPEN_PARTNER_STATUSES),
        application__stage=F("stage"),
        requested_at__gte=F("application__stage_entered_at"),
    )
    passes = (
        (SlaState.BREACHED, open_steps.filter(due_at__lte=now).exclude(sla_state=SlaState.BREACHED)),
        (SlaState.AT_RISK, open_steps.filter(at_risk_at__lte=now, sla_state=SlaState.ON_TIME)),
    )
    with transaction.atomic():
        for state, found in passes:
            rows = list(
                found.select_for_update(skip_locked=True, of=("self",))
                .order_by("due_at")
                .values_list("pk", "application_id", "stage", "kind", "requested_at", "due_at")[:batch]
            )
            if not rows:
                continue
            PartnerStep.objects.filter(pk__in=[row[0] for row in rows]).update(sla_state=state)
            changes += [
                PartnerStepSlaChange(pk, app, stage, kind, state, requested, due)
                for pk, app, stage, kind, requested, due in rows
            ]
    return tuple(changes)
