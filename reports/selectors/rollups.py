"""Daily rollups of stays (``reports.models.StayRollup``): how they are computed from the history,
kept up to date, and read back as the report's groupings.

**Buckets.** The durations' histograms are ``histograms``' (log-spaced buckets of ratio
``RATIO``, 1.02: a quantile read from them is within 1 % of the exact one).

**Days.** A day (in Asia/Shanghai) is rolled up by one ``INSERT … SELECT … GROUP BY GROUPING
SETS`` over its stays (``rollup_days``: a run of days in one statement, after deleting their rows,
in one transaction: recomputing a day replaces it). ``StayRollupMark`` says up to which instant
the rollups go (``rolled_until``, ``SETTLE`` before the run: today's rows hold today's stays up to
it) and up to which event (the high-water mark): beat (``stays_refresh``, every few minutes)
recomputes the days from the last mark's to today and the day of every transition recorded since
the mark (history written late for a past day too); ``manage.py reports_backfill`` every day
(``stays_backfill``). Both run inside ``writing`` (one advisory lock, one transaction, with the
cohort rollups: ``refresh``), so two never write the same days at once.

**Reading.** The report's queries take the rollups for the stays that ended before
``rolled_until`` and the history for the few minutes after it, computed into the same rows by the
same SQL (``rollup_select``) and merged in one statement. Without a mark (before the first
backfill) everything is read from the history, as before the rollups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from applications.choices import EventKind
from applications.models import StageEvent

from ..models import CohortRollupMark, StayRollup, StayRollupMark
from .base import REPORT_STAGES, DateRange, monday, placeholders, seconds_between, tables, whole_weeks
from .histograms import bucket_sql

# Events recorded this recently are looked at again next time: a transaction still open when
# beat reads the history commits them later, with ids below the mark it takes.
SETTLE = dt.timedelta(minutes=10)
# Days per statement in a backfill: each statement groups this many days' stays.
BACKFILL_DAYS = 31
_LOCK = 0x5EA7_0011  # pg_advisory_xact_lock key of the rollups' writers


def mark_table() -> str:
    return default_connection.ops.quote_name(StayRollupMark._meta.db_table)


def rollup_table() -> str:
    return default_connection.ops.quote_name(StayRollup._meta.db_table)


# --- From the history to rollup rows ------------------------------------------------------------


def _source(
    lower: str,
    upper: str,
    bounds: list[Any],
    params: list[Any],
    *,
    causes_only: bool,
    after: dt.datetime | None = None,
) -> str:
    """``src``: the transitions out of a report stage recorded in ``[lower, upper)`` (SQL
    expressions whose parameters are ``bounds``) that are stays (their start is on record) or
    breaches (for the breaches by cause, which do not need the start): the day they ended, the
    groupings' keys, the duration, the breach flag and, for a breach, its cause."""
    t = tables()
    transition = EventKind.TRANSITION.value
    assert transition.isidentifier()  # a code constant, never input
    params.append(str(timezone.get_default_timezone()))
    seconds = seconds_between("e.created_at", "e.stay_started_at")
    late = "e.stay_due_at IS NOT NULL AND e.created_at > e.stay_due_at"
    params.extend(REPORT_STAGES)
    params.extend(bounds)
    which = late if causes_only else f"e.stay_started_at IS NOT NULL OR ({late})"
    # ``after``: a bound known before the statement, which ``lower`` implies; the planner then
    # sees how few rows it reads (a bound read inside the statement it would take for a third).
    known = ""
    if after is not None:
        known = " AND e.created_at >= %s"
        params.append(after)
    return (
        f"SELECT CAST(e.created_at AT TIME ZONE %s AS date) AS day, e.from_stage AS stage,"
        f" CASE WHEN u.is_staff THEN e.actor_id END AS staff_id,"
        f" a.dealer_id AS dealer_id, a.product_id AS product_id,"
        f" CASE WHEN e.stay_started_at IS NOT NULL THEN {seconds} END AS seconds,"
        f" CASE WHEN e.stay_due_at IS NULL THEN NULL WHEN e.created_at > e.stay_due_at THEN 1 ELSE 0 END"
        f"  AS breached,"
        f" CASE WHEN {late} THEN COALESCE(e.data ->> 'delay_reason', '') END AS cause"
        f" FROM {t['event']} e"
        f" JOIN {t['app']} a ON a.id = e.application_id"
        f" LEFT JOIN {t['user']} u ON u.id = e.actor_id"
        f" WHERE e.kind = '{transition}' AND e.from_stage IN ({placeholders(REPORT_STAGES)})"
        f"  AND e.created_at >= {lower} AND e.created_at < {upper}{known} AND ({which})"
    )


ROLLUP_COLUMNS = "day, stage, dimension, key, cause, stays, with_due, breached, seconds, buckets, counts"


def rollup_select(
    lower: str, upper: str, bounds: list[Any], params: list[Any], *, after: dt.datetime | None = None
) -> str:
    """A SELECT of ``ROLLUP_COLUMNS``: the rollup rows of the stays that ended in ``[lower,
    upper)``, one per day, stage and grouping (``models.StayRollup``), in one pass over the
    history (``GROUPING SETS``)."""
    src = _source(lower, upper, bounds, params, causes_only=False, after=after)
    bucket = bucket_sql("seconds")
    # GROUPING(staff_id, dealer_id, product_id): a bit for each column a set does not group by.
    return (
        f"WITH src AS MATERIALIZED ({src}),"
        f" hist AS (SELECT day, stage, GROUPING(staff_id, dealer_id, product_id) AS g,"
        f"  staff_id, dealer_id, product_id, bucket, COUNT(*) AS n,"
        f"  COUNT(breached) AS with_due, COALESCE(SUM(breached), 0) AS breached, SUM(seconds) AS seconds"
        f"  FROM (SELECT *, {bucket} AS bucket FROM src WHERE seconds IS NOT NULL) timed"
        f"  GROUP BY GROUPING SETS ((day, stage, bucket), (day, stage, staff_id, bucket),"
        f"   (day, stage, dealer_id, bucket), (day, stage, product_id, bucket)))"
        f" SELECT day, stage,"
        f"  CASE g WHEN 7 THEN 'stage' WHEN 3 THEN 'staff' WHEN 5 THEN 'dealer' ELSE 'product' END"
        f"   AS dimension,"
        f"  COALESCE(staff_id, dealer_id, product_id) AS key, '' AS cause, CAST(SUM(n) AS integer) AS stays,"
        f"  CAST(SUM(with_due) AS integer) AS with_due, CAST(SUM(breached) AS integer) AS breached,"
        f"  SUM(seconds) AS seconds, array_agg(bucket ORDER BY bucket) AS buckets,"
        f"  array_agg(CAST(n AS integer) ORDER BY bucket) AS counts"
        f" FROM hist GROUP BY day, stage, g, staff_id, dealer_id, product_id"
        f" UNION ALL"
        f" SELECT day, stage, 'cause', NULL, cause, CAST(COUNT(*) AS integer), CAST(COUNT(*) AS integer),"
        f"  CAST(COUNT(*) AS integer), 0, CAST('{{}}' AS integer[]), CAST('{{}}' AS integer[])"
        f" FROM src WHERE cause IS NOT NULL GROUP BY day, stage, cause"
    )


def cause_select(
    lower: str, upper: str, bounds: list[Any], params: list[Any], *, after: dt.datetime | None = None
) -> str:
    """The cause rows alone (``dimension = 'cause'``), as ``rollup_select`` makes them: the
    breaches by cause read only the breached stays of the history."""
    src = _source(lower, upper, bounds, params, causes_only=True, after=after)
    return (
        f"SELECT day, stage, 'cause' AS dimension, CAST(NULL AS bigint) AS key, cause,"
        f" CAST(COUNT(*) AS integer) AS breached FROM ({src}) src GROUP BY day, stage, cause"
    )


# --- Writing ------------------------------------------------------------------------------------


def rollup_days(first: dt.date, last: dt.date, *, until: dt.datetime) -> int:
    """Replace the rollups of ``first`` … ``last`` (Shanghai days, both included) by the history's
    stays that ended before ``until``, in one transaction: one DELETE and one INSERT … SELECT per
    ``BACKFILL_DAYS`` days. Returns the rows written."""
    written = 0
    with transaction.atomic(), default_connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        if settings.REPORT_WORK_MEM:
            # The report's memory for the groupings' sorts, for this transaction only.
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.REPORT_WORK_MEM])
        start = first
        while start <= last:
            end = min(last, start + dt.timedelta(days=BACKFILL_DAYS - 1))
            cursor.execute(
                f"DELETE FROM {rollup_table()} WHERE period = 'day' AND day >= %s AND day <= %s", [start, end]
            )
            lower, upper = DateRange(start, end).bounds()
            params: list[Any] = []
            select = rollup_select("%s", "%s", [lower, min(upper, until)], params)
            cursor.execute(
                f"INSERT INTO {rollup_table()} (period, {ROLLUP_COLUMNS}) SELECT 'day', s.* FROM ({select}) s",
                params,
            )
            written += max(cursor.rowcount, 0)
            start = end + dt.timedelta(days=1)
        written += _rollup_weeks(cursor, monday(first), monday(last))
    return written


def _rollup_weeks(cursor: CursorWrapper, first: dt.date, last: dt.date) -> int:
    """The week rows of the weeks from the Monday ``first`` to the Monday ``last`` replaced by the
    sums of their days' rows (counts added up, histograms merged)."""
    table = rollup_table()
    keys = "week, stage, dimension, key, cause"
    cursor.execute(f"DELETE FROM {table} WHERE period = 'week' AND day >= %s AND day <= %s", [first, last])
    cursor.execute(
        f"INSERT INTO {table} (period, day, stage, dimension, key, cause, stays, with_due, breached, seconds,"
        f" buckets, counts)"
        f" WITH d AS (SELECT CAST(date_trunc('week', CAST(day AS timestamp)) AS date) AS week, stage,"
        f"  dimension, key, cause, stays, with_due, breached, seconds, buckets, counts FROM {table}"
        f"  WHERE period = 'day' AND day >= %s AND day <= %s),"
        f" c AS (SELECT {keys}, SUM(stays) AS stays, SUM(with_due) AS with_due, SUM(breached) AS breached,"
        f"  SUM(seconds) AS seconds FROM d GROUP BY {keys}),"
        f" h AS (SELECT {keys}, u.bucket, SUM(u.n) AS n"
        f"  FROM d CROSS JOIN LATERAL unnest(d.buckets, d.counts) AS u(bucket, n) GROUP BY {keys}, u.bucket),"
        f" a AS (SELECT {keys}, array_agg(bucket ORDER BY bucket) AS buckets,"
        f"  array_agg(CAST(n AS integer) ORDER BY bucket) AS counts FROM h GROUP BY {keys})"
        f" SELECT 'week', c.week, c.stage, c.dimension, c.key, c.cause, c.stays, c.with_due, c.breached,"
        f"  c.seconds, COALESCE(a.buckets, CAST('{{}}' AS integer[])), COALESCE(a.counts, CAST('{{}}' AS integer[]))"
        f" FROM c LEFT JOIN a ON a.week = c.week AND a.stage = c.stage AND a.dimension = c.dimension"
        f"  AND COALESCE(a.key, -1) = COALESCE(c.key, -1) AND a.cause = c.cause",
        [first, last + dt.timedelta(days=6)],
    )
    return max(cursor.rowcount, 0)


def settled(now: dt.datetime) -> tuple[int, dt.datetime]:
    """The mark to record now: ``now − SETTLE`` (every transaction that wrote a stay before it has
    committed) and the last transition recorded before it (the high-water mark)."""
    until = now - SETTLE
    last_id = (
        StageEvent.objects.filter(kind=EventKind.TRANSITION, created_at__lt=until)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return last_id or 0, until


def _save_mark(event_id: int, until: dt.datetime) -> None:
    save_mark(StayRollupMark, event_id, until)


def save_mark(mark_model: type[StayRollupMark | CohortRollupMark], event_id: int, until: dt.datetime) -> None:
    """Set a rollups' mark (one row, id 1). A save, not an update: ``updated_at`` (the figures'
    "as of") moves on every run."""
    mark_model.objects.update_or_create(pk=1, defaults={"event_id": event_id, "rolled_until": until})


def backfill_days(
    mark_model: type[StayRollupMark | CohortRollupMark],
    first_day: Callable[[], dt.date | None],
    compute: Callable[..., int],
    *,
    since: dt.date | None,
    now: dt.datetime,
) -> tuple[int, int]:
    """Every day from ``since`` to today recomputed by ``compute(first, last, until=…)``, up to
    ``now − SETTLE``, and ``mark_model``'s mark set. Without a mark yet (or ``since``), from
    ``first_day()``: days before ``since`` would otherwise be read as empty. Returns (days, rows)."""
    event_id, until = settled(now)
    mark = mark_model.objects.filter(pk=1).first()
    if mark is None or mark.rolled_until is None or since is None:
        since = first_day()
    last = timezone.localdate(until)
    if since is None or since > last:
        save_mark(mark_model, event_id, until)
        return 0, 0
    rows = compute(since, last, until=until)
    save_mark(mark_model, event_id, until)
    return (last - since).days + 1, rows


def runs_since(touched: list[dt.date], first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The ``touched`` days and every day from ``first`` to ``last``, as (first, last) runs of
    consecutive days."""
    days = set(touched)
    day = first
    while day <= last:
        days.add(day)
        day += dt.timedelta(days=1)
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def first_stay_day() -> dt.date | None:
    first = (
        StageEvent.objects.filter(kind=EventKind.TRANSITION, from_stage__in=REPORT_STAGES)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return timezone.localdate(first) if first else None


@contextmanager
def writing() -> Iterator[None]:
    """One writer at a time, from reading the marks to saving them (beat's runs, a backfill), in
    one transaction: the report sees the rows and the marks change together, and two beats (or a
    beat and a backfill) cannot save rows and a mark that disagree. The stays' and the cohorts'
    rollups (``cohort_rollups``) are written under it, one after the other (``refresh``)."""
    with transaction.atomic(), default_connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        yield


def stays_backfill(*, since: dt.date | None, now: dt.datetime) -> tuple[int, int]:
    """Every day from ``since`` (default: the first stay's) to today rolled up afresh, up to
    ``now − SETTLE``, and the mark set. Without a mark yet the whole history is rolled up whatever
    ``since`` says (days before it would otherwise be read as empty). Returns (days, rows). Inside
    ``writing``."""
    return backfill_days(StayRollupMark, first_stay_day, rollup_days, since=since, now=now)


def stays_refresh(*, now: dt.datetime) -> tuple[int, int]:
    """Beat: bring the rollups up to ``now − SETTLE``: the days from the last mark's to today (today's
    rows hold today's stays so far), and every past day a transition was recorded for since the
    mark (history written late); each day recomputed whole, so running it twice changes nothing.
    Without a mark, the whole history (``stays_backfill``). Returns (days, rows). Inside
    ``writing``."""
    mark = StayRollupMark.objects.filter(pk=1).first()
    if mark is None or mark.rolled_until is None:
        return stays_backfill(since=None, now=now)
    event_id, until = settled(now)
    until = max(until, mark.rolled_until)  # the mark never goes back
    last = timezone.localdate(until)
    zone = str(timezone.get_default_timezone())
    with default_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT CAST(created_at AT TIME ZONE %s AS date) FROM {tables()['event']}"
            f" WHERE id > %s AND kind = %s AND from_stage IN ({placeholders(REPORT_STAGES)})",
            [zone, mark.event_id, EventKind.TRANSITION.value, *REPORT_STAGES],
        )
        touched = [day for (day,) in cursor.fetchall() if day <= last]
    rows = 0
    runs = runs_since(touched, timezone.localdate(mark.rolled_until), last)
    for first, final in runs:
        rows += rollup_days(first, final, until=until)
    _save_mark(max(event_id, mark.event_id), until)
    return sum((final - first).days + 1 for first, final in runs), rows


# --- Reading ------------------------------------------------------------------------------------


def rolled_until() -> dt.datetime | None:
    """The mark's instant: stays that ended before it are in the rollups (1 query)."""
    return StayRollupMark.objects.filter(pk=1).values_list("rolled_until", flat=True).first()


def rows_cte(date_range: DateRange, params: list[Any], *, causes_only: bool = False) -> str:
    """``rollup_rows``: the range's rollup rows: the rollups' for the stays that ended before the
    mark's ``rolled_until``, and the same rows computed from the history for the stays that ended
    after it (today's latest, or the whole range before the first backfill).

    The mark is read twice: before (1 query), so that a range ending before it reads no history
    and the planner knows how little of it the rest reads; and inside the statement, which takes
    its bound from there, so that one statement sees one mark even if beat moves it meanwhile
    (it only moves forward)."""
    start_at, end_at = date_range.bounds()
    known = rolled_until()
    mark = f"(SELECT rolled_until FROM {mark_table()} WHERE id = 1)"
    columns = "day, stage, dimension, key, cause, breached" if causes_only else ROLLUP_COLUMNS
    raw = ""
    raw_params: list[Any] = []
    if known is None or known < end_at:
        lower = f"GREATEST(%s, COALESCE({mark}, %s))"
        select = cause_select if causes_only else rollup_select
        after = max(start_at, known) if known is not None else None
        raw = select(lower, "%s", [start_at, start_at, end_at], raw_params, after=after)
        raw = f" UNION ALL SELECT {columns} FROM ({raw}) raw"
    # The whole weeks of the range from their week rows, the days around them from day rows.
    first_monday, last_monday = whole_weeks(date_range)
    params.extend([date_range.start, date_range.end, first_monday, last_monday, first_monday, last_monday])
    params.extend(raw_params)
    where = "dimension = 'cause' AND " if causes_only else ""
    return (
        f"rollup_rows AS MATERIALIZED ("
        f"SELECT {columns} FROM {rollup_table()} WHERE {where}{mark} IS NOT NULL AND ("
        f" (period = 'day' AND day >= %s AND day <= %s AND NOT (day >= %s AND day <= %s + 6))"
        f" OR (period = 'week' AND day >= %s AND day <= %s)){raw})"
    )
