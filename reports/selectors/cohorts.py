"""Cohort rollups: the funnel and the approval factors of the applications submitted on each
Shanghai day (``reports.models.FunnelRollup``, ``FactorRollup``), read back for a range.

**What a row holds.** A cohort is the files submitted on one day; its funnel row and its factor
rows say how far those files have got *so far*: how many reached each milestone, how many were
decided and approved, and a histogram of the times from submission to decision (``histograms``).
Unlike a stay, which ends once, a cohort's figures change as its files move on, so a day's rows
are recomputed whole whenever a transition of one of its files is recorded.

**Kept up to date** with the stays' rollups, by the same beat task and backfill command under
the same advisory lock (``rollups.rollup_refresh``, ``rollups.rollup_backfill``):
``CohortRollupMark`` says up to which instant the rollups hold the submitted files
(``rolled_until``, ``rollups.SETTLE`` before the run) and up to which transition they have seen
(``event_id``). Each run recomputes today's rows, and the submission day of every file that had
a transition recorded since the last mark; a cohort day is a few thousand files at a million
applications, read through the index on ``submitted_at``. The rows are therefore as of beat's
last run (``updated_at``, every ``REPORT_ROLLUP_SECONDS``): a file decided a minute ago counts in
its cohort's decisions from the next run on.

**Reading** (this module): the rows of the range's days (the factors' whole ISO weeks from week
rows) for the files submitted before the mark's ``rolled_until``, and the same rows computed from
the history, by the same SQL, for the files submitted after it (the last minutes of today), in
one statement. Without a mark (before the first backfill) everything is read from the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection

from ..models import CohortRollupMark, FactorRollup, FunnelRollup
from .base import DateRange, whole_weeks

# A SELECT of a rollup's columns computed from the history for the files submitted in ``[lower,
# upper)`` (SQL expressions whose parameters are ``bounds``), its parameters appended to the
# list; ``after``: a bound known before the statement that ``lower`` implies (for the planner).
HistorySelect = Callable[..., str]


@dataclass(frozen=True)
class CohortMark:
    """How far the cohort rollups go: the files submitted before ``rolled_until`` are in them,
    their figures as of ``as_of`` (beat's last run). None and None before the first backfill."""

    rolled_until: dt.datetime | None = None
    as_of: dt.datetime | None = None


def mark_table() -> str:
    return default_connection.ops.quote_name(CohortRollupMark._meta.db_table)


def funnel_table() -> str:
    return default_connection.ops.quote_name(FunnelRollup._meta.db_table)


def factor_table() -> str:
    return default_connection.ops.quote_name(FactorRollup._meta.db_table)


def cohort_mark() -> CohortMark:
    """The mark (1 query)."""
    row = CohortRollupMark.objects.filter(pk=1).values_list("rolled_until", "updated_at").first()
    if row is None or row[0] is None:
        return CohortMark()
    return CohortMark(rolled_until=row[0], as_of=row[1])


def range_rows_cte(
    name: str,
    table: str,
    columns: str,
    select: HistorySelect,
    date_range: DateRange,
    params: list[Any],
    *,
    known: CohortMark,
    weeks: bool,
) -> str:
    """``<name> AS MATERIALIZED (…)``: the ``columns`` of the rollup rows of the range's
    submission days (``weeks``: its whole ISO weeks from the week rows), and the same columns
    from the history (``select``) for the files submitted after the mark's ``rolled_until``.

    The mark is read twice, as for the stays (``rollups.rows_cte``): before, by the caller
    (``known``: a range that ends before it reads no history, and the planner knows how little
    the rest reads), and inside the statement, which takes its bound from there, so that one
    statement sees one mark however beat moves it meanwhile (only forward)."""
    start_at, end_at = date_range.bounds()
    mark = f"(SELECT rolled_until FROM {mark_table()} WHERE id = 1)"
    raw = ""
    raw_params: list[Any] = []
    until = known.rolled_until
    if until is None or until < end_at:
        lower = f"GREATEST(%s, COALESCE({mark}, %s))"
        after = max(start_at, until) if until is not None else None
        raw = select(lower, "%s", [start_at, start_at, end_at], raw_params, after=after)
        raw = f" UNION ALL SELECT {columns} FROM ({raw}) raw"
    if weeks:
        first_monday, last_monday = whole_weeks(date_range)
        params.extend(
            [date_range.start, date_range.end, first_monday, last_monday, first_monday, last_monday]
        )
        days = (
            "((period = 'day' AND day >= %s AND day <= %s AND NOT (day >= %s AND day <= %s + 6))"
            " OR (period = 'week' AND day >= %s AND day <= %s))"
        )
    else:
        params.extend([date_range.start, date_range.end])
        days = "day >= %s AND day <= %s"
    params.extend(raw_params)
    return f"{name} AS MATERIALIZED (SELECT {columns} FROM {table} WHERE {mark} IS NOT NULL AND {days}{raw})"
