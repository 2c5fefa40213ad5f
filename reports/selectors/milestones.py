"""The funnel: how far the applications submitted in a range got, milestone by milestone (one
query), from the cohort rollups of the range's days and the history for the files submitted
after their mark (``cohorts``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection
from django.utils import timezone

from applications.choices import MILESTONES, EventKind, Stage

from . import cohorts
from .base import DateRange, placeholders, tables

# The funnel's rollup has a column per milestone (``models.FunnelRollup.reached_1`` … ``_5``).
assert [m.number for m in MILESTONES] == [1, 2, 3, 4, 5]
# The stages the funnel counts files ending in, with its columns (the rollup's too).
ENDS = (("rejected", Stage.REJECTED), ("withdrawn", Stage.WITHDRAWN), ("expired", Stage.EXPIRED))
FUNNEL_COLUMNS = ", ".join(
    ["day", "submitted", *(f"reached_{m.number}" for m in MILESTONES), *(name for name, _stage in ENDS)]
)


@dataclass(frozen=True)
class Funnel:
    submitted: int
    reached: tuple[int, ...]  # applications that reached milestone 1 … 5
    rejected: int
    withdrawn: int
    expired: int


def funnel_select(
    lower: str, upper: str, bounds: list[Any], params: list[Any], *, after: dt.datetime | None = None
) -> str:
    """A SELECT of ``FUNNEL_COLUMNS``: the funnel of the files submitted in ``[lower, upper)``
    (SQL expressions whose parameters are ``bounds``), one row per submission day (Shanghai).
    A file counts once it has a transition on record (submission is one); it reached the
    highest milestone of any stage it ever entered."""
    t = tables()
    reached = ", ".join(
        f"CAST(COALESCE(SUM(CASE WHEN f.reached >= {m.number} THEN 1 ELSE 0 END), 0) AS integer)"
        f" AS reached_{m.number}"
        for m in MILESTONES
    )
    closed = ", ".join(
        f"CAST(COALESCE(SUM(CASE WHEN f.stage = %s THEN 1 ELSE 0 END), 0) AS integer) AS {name}"
        for name, _stage in ENDS
    )
    # In the order of the placeholders in the text.
    params.extend(stage.value for _name, stage in ENDS)
    params.append(str(timezone.get_default_timezone()))
    whens = []
    for milestone in reversed(MILESTONES):
        stages = [s.value for s in milestone.stages]
        whens.append(f"WHEN e.to_stage IN ({placeholders(stages)}) THEN {milestone.number}")
        params.extend(stages)
    params.append(EventKind.TRANSITION.value)
    params.extend(bounds)
    known = ""
    if after is not None:
        known = " AND a.submitted_at >= %s"
        params.append(after)
    return (
        f"SELECT day, CAST(COUNT(*) AS integer) AS submitted, {reached}, {closed} FROM ("
        f" SELECT CAST(a.submitted_at AT TIME ZONE %s AS date) AS day, a.stage,"
        f"  MAX(CASE {' '.join(whens)} ELSE 1 END) AS reached"
        f" FROM {t['app']} a JOIN {t['event']} e ON e.application_id = a.id AND e.kind = %s"
        f" WHERE a.submitted_at >= {lower} AND a.submitted_at < {upper}{known}"
        f" GROUP BY a.id) f GROUP BY day"
    )


def funnel_sql(
    date_range: DateRange, *, exact: bool = False, known: cohorts.CohortMark | None = None
) -> tuple[str, list[Any]]:
    """The range's funnel added up from its days' rows: the rollups' and the history's after
    their mark, or (``exact``) the history's alone."""
    params: list[Any] = []
    if exact:
        start_at, end_at = date_range.bounds()
        rows = f"funnel_rows AS ({funnel_select('%s', '%s', [start_at, end_at], params)})"
    else:
        rows = cohorts.range_rows_cte(
            "funnel_rows",
            cohorts.funnel_table(),
            FUNNEL_COLUMNS,
            funnel_select,
            date_range,
            params,
            known=known if known is not None else cohorts.cohort_mark(),
            weeks=False,
        )
    sums = ", ".join(f"COALESCE(SUM({column}), 0)" for column in FUNNEL_COLUMNS.split(", ")[1:])
    return f"WITH {rows} SELECT {sums} FROM funnel_rows", params


def funnel(date_range: DateRange, *, exact: bool = False, known: cohorts.CohortMark | None = None) -> Funnel:
    """How far the applications submitted in the range got: milestone by milestone (1 query, and
    1 for the rollups' mark unless ``known`` gives it). ``exact``: from the history alone (what
    the rollups are checked against)."""
    sql, params = funnel_sql(date_range, exact=exact, known=known)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    count = len(MILESTONES)
    return Funnel(
        submitted=int(row[0]),
        reached=tuple(int(n) for n in row[1 : 1 + count]),
        rejected=int(row[1 + count]),
        withdrawn=int(row[2 + count]),
        expired=int(row[3 + count]),
    )
