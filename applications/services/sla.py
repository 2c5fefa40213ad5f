"""The SLA clock moves on: the only writes of an open stage's ``sla_state`` and ``sla_escalated_at``
besides a transition's reset to on time (``lifecycle._transition``).

``sla_advance`` is set-based: one ``UPDATE … RETURNING`` sets the state of every open staff stage
whose state the clock has changed (at risk past 80 % of its time, breached past 100 %), another
marks the second escalations (past 150 %), each at most ``batch`` rows. It returns a small frozen
record of what changed; it tells nobody. Whoever reacts (``notifications``: reminders, escalations,
delay notices) calls it inside its own transaction, so the new states and the reactions commit
together, or neither does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction

from ..models import LoanApplication, Reason
from ..sla import AT_RISK_AT, ESCALATE_AGAIN_AT, STAFF_CLOCK_STAGES, SlaState
from .delays import (
    OUTSIDE_WORKING_HOURS,
    REVIEWER_BACKLOG,
    automatic_cause,
    delay_causes_record,
    is_working_time,
)

# Any constant shared by every process: pg_try_advisory_xact_lock's key for the clock's passes.
_LOCK_KEY = 5_215_001


@dataclass(frozen=True)
class SlaChange:
    """One application whose SLA state this pass changed (or whose second escalation it marked)."""

    application_id: int
    customer_id: int | None  # None for a walk-in buyer without an account
    stage: str
    sla_state: str  # SlaState, after the pass
    stage_entered_at: dt.datetime  # with the application, names the occurrence of the stay
    stage_due_at: dt.datetime | None
    delay_reason: str  # the catalogue code of the cause of delay staff gave; "" for none


@dataclass(frozen=True)
class SlaChanges:
    """What one pass of the clock changed."""

    changed: tuple[SlaChange, ...] = ()  # a new state: at risk or breached (back on time is not listed)
    escalated_again: tuple[SlaChange, ...] = ()  # past 150 % of their time, marked now
    more: bool = False  # the pass stopped at its batch size: more are waiting for the next one
    skipped: bool = False  # another pass held the lock: nothing was looked at

    @property
    def at_risk(self) -> int:
        return sum(change.sla_state == SlaState.AT_RISK for change in self.changed)

    @property
    def breached(self) -> int:
        return sum(change.sla_state == SlaState.BREACHED for change in self.changed)


def sla_advance(*, now: dt.datetime, batch: int) -> SlaChanges:
    """One pass of the SLA clock at ``now``: change the state of at most ``batch`` open staff stages
    and mark at most ``batch`` second escalations; return what changed.

    Only one pass at a time: a PostgreSQL advisory lock held until the caller's transaction ends
    (a second pass meanwhile returns ``skipped``). Rows a staff transition holds are skipped, not
    waited for: they are looked at again by the next pass. Call it inside the transaction that
    writes the reactions, so that they and the new states commit or roll back together; a repeated
    pass finds nothing left to change.
    """
    with transaction.atomic():
        if not _try_lock():
            return SlaChanges(skipped=True)
        changed = _states_update(now=now, limit=batch)
        # Anything that left the staff clock without a transition (a data fix, an old row) is on
        # time again, before the second escalations are looked for: it is escalated no more.
        LoanApplication.objects.exclude(stage__in=sorted(STAFF_CLOCK_STAGES)).exclude(
            sla_state=SlaState.ON_TIME
        ).update(sla_state=SlaState.ON_TIME, sla_escalated_at=None)
        again = _escalate_again_update(now=now, limit=batch)
        # The working calendar is read once a pass (two queries), before anything is locked for it.
        causes = _AutomaticCauses(working=is_working_time(now))
        changed = _explain_overdue(changed, now=now, causes=causes)
        if causes.working:
            _working_hours_resumed(now=now, limit=batch, causes=causes)
    codes = _reason_codes({row[6] for row in changed + again if row[6] is not None}, known=causes.read)
    return SlaChanges(
        changed=tuple(_change(row, codes) for row in changed),
        escalated_again=tuple(_change(row, codes) for row in again),
        more=len(changed) >= batch or len(again) >= batch,
    )


def sla_changing_condition(*, now: dt.datetime) -> tuple[str, list]:
    """SQL ``WHERE`` condition and its parameters: the open staff stages whose SLA state the clock
    changes at ``now``, as ``sla_advance`` looks for them (``bench_sweep`` counts the same rows)."""
    at = connection.ops.adapt_datetimefield_value(now)
    stages = sorted(STAFF_CLOCK_STAGES)
    # Only constants and placeholders are joined in; every value is a parameter.
    condition = (
        f"stage IN ({', '.join(['%s'] * len(stages))}) AND stage_due_at IS NOT NULL AND sla_state <> {_STATE}"
    )
    return condition, [*stages, at, at]


def _fraction_reached(num: int, den: int) -> str:
    """SQL: the stage has used at least num/den of its time (entry → due) at the parameter %s."""
    return f"(%s - stage_entered_at) * {den} >= (stage_due_at - stage_entered_at) * {num}"


# SQL: the state the clock gives a stage at the parameters (%s twice: the moment).
_STATE = (
    f"CASE WHEN stage_due_at <= %s THEN '{SlaState.BREACHED}'"
    f" WHEN {_fraction_reached(*AT_RISK_AT)} THEN '{SlaState.AT_RISK}'"
    f" ELSE '{SlaState.ON_TIME}' END"
)
# What the UPDATEs return of each application they change: the fields of an ``SlaChange``.
_RETURNING = "RETURNING id, customer_id, stage, sla_state, stage_entered_at, stage_due_at, delay_reason_id"


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _batch_of(table: str, condition: str, limit: int) -> str:
    """SQL: ``id`` one of at most ``limit`` rows meeting ``condition``. No order: the rows are found by
    the same scan as a plain count of the condition, which stops once it has enough; asking for the
    longest overdue first would walk the due-time index row by row through every open file when
    almost none is changing, as on most passes. The rows are locked here and any a staff
    transition holds are skipped: the pass never waits on a reviewer, and the row is simply looked
    at again next time. ``ARRAY(…)`` makes the batch an InitPlan, chosen once: as ``id IN (…)`` the
    planner may rescan the subquery for each row of the UPDATE (a nested loop), and each rescan
    skips the rows just changed and hands over the next ones, so the pass changed every row."""
    # Only the table's name, SQL of this module's own and an integer are joined in.
    batch = f"SELECT id FROM {table} WHERE {condition} LIMIT {int(limit)} FOR UPDATE SKIP LOCKED"  # noqa: S608
    return f"id = ANY(ARRAY({batch}))"


def _states_update(*, now: dt.datetime, limit: int) -> list[tuple]:
    """One UPDATE: the state from the clock, for at most ``limit`` open staff stages whose state
    changes; returns those rows (``_RETURNING``)."""
    table = LoanApplication._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    changing, params = sla_changing_condition(now=now)
    sql = " ".join(
        ["UPDATE", table, "SET sla_state =", _STATE, "WHERE", _batch_of(table, changing, limit), _RETURNING]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, at, *params])
        return cursor.fetchall()


def _escalate_again_update(*, now: dt.datetime, limit: int) -> list[tuple]:
    """Overdue stages past 150 % of their time, not escalated a second time yet: mark at most
    ``limit`` of them; returns those rows (``_RETURNING``)."""
    table = LoanApplication._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    due = " ".join(
        [
            "sla_state = %s AND sla_escalated_at IS NULL AND stage_due_at IS NOT NULL AND",
            _fraction_reached(*ESCALATE_AGAIN_AT),
        ]
    )
    sql = " ".join(
        ["UPDATE", table, "SET sla_escalated_at = %s WHERE", _batch_of(table, due, limit), _RETURNING]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, SlaState.BREACHED, at])
        return cursor.fetchall()


class _AutomaticCauses:
    """The causes the clock records itself this pass, each read from the catalogue at most once and
    only when a file needs it (``None``: an operator retired it)."""

    def __init__(self, *, working: bool) -> None:
        self.working = working
        self.read: dict[str, Reason | None] = {}

    def get(self, code: str) -> Reason | None:
        if code not in self.read:
            self.read[code] = automatic_cause(code)
        return self.read[code]

    @property
    def overdue(self) -> Reason | None:
        """The cause of an overdue stage no one has explained: the reviewers' backlog in working
        hours, else the hour (outside working hours or a holiday)."""
        return self.get(REVIEWER_BACKLOG if self.working else OUTSIDE_WORKING_HOURS)


def _explain_overdue(rows: list[tuple], *, now: dt.datetime, causes: _AutomaticCauses) -> list[tuple]:
    """Record a cause for each stage this pass found overdue that has none: the reviewers' backlog
    in working hours, else outside working hours (``_AutomaticCauses.overdue``). Quietly: the
    sweep's delay notice carries the cause to the customer. Returns the rows with the cause's id
    in place, so the changes name it."""
    unexplained = [row for row in rows if row[3] == SlaState.BREACHED and row[6] is None]
    if not unexplained:
        return rows
    reason = causes.overdue
    if reason is None:
        return rows
    delay_causes_record(application_ids=[row[0] for row in unexplained], reason=reason, now=now)
    explained = {row[0] for row in unexplained}
    return [(*row[:6], reason.pk) if row[0] in explained else row for row in rows]


def _working_hours_resumed(*, now: dt.datetime, limit: int, causes: _AutomaticCauses) -> None:
    """In working hours, overdue files whose cause is "outside working hours" wait on the reviewers'
    backlog: the cause moves on, quietly (the customer was told of the delay; the timeline shows
    the cause as it now is). The caller checks the hour first, so that outside working hours no
    file is looked at or locked; one query when there are none, as on most passes."""
    late_at_night = list(
        LoanApplication.objects.filter(
            stage__in=sorted(STAFF_CLOCK_STAGES),
            sla_state=SlaState.BREACHED,
            delay_reason__code=OUTSIDE_WORKING_HOURS,
        )
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:limit]
    )
    if not late_at_night:
        return
    reason = causes.get(REVIEWER_BACKLOG)
    if reason is not None:
        delay_causes_record(application_ids=late_at_night, reason=reason, now=now)


def _reason_codes(ids: set[int], *, known: dict[str, Reason | None]) -> dict[int, str]:
    """The catalogue codes of these delay reasons: those the pass read already, and the others in
    one query (none when every changed file's cause is one of those)."""
    codes = {reason.pk: reason.code for reason in known.values() if reason is not None}
    missing = ids - codes.keys()
    if missing:
        codes.update(Reason.objects.filter(pk__in=missing).values_list("pk", "code"))
    return codes


def _change(row: tuple, codes: dict[int, str]) -> SlaChange:
    pk, customer_id, stage, state, entered, due, reason_id = row
    return SlaChange(
        application_id=pk,
        customer_id=customer_id,
        stage=stage,
        sla_state=state,
        stage_entered_at=entered,
        stage_due_at=due,
        delay_reason=codes.get(reason_id, ""),
    )
