"""The cohort rollups written (``reports.models.FunnelRollup``, ``FactorRollup``): a submission
day's rows computed from the history, and kept up to date by beat and the backfill (see
``cohorts`` for what they hold and how the report reads them).

A run of days is rolled up by one ``INSERT … SELECT`` per table and ``rollups.BACKFILL_DAYS``
days, after deleting their rows; the factors' weeks are then added up again from their days.
Everything here runs inside ``rollups.writing`` (the advisory lock and the transaction the stays'
rollups are written in), so the report sees rows and mark change together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from applications.choices import EventKind
from applications.models import LoanApplication

from ..models import CohortRollupMark
from .base import DateRange, monday, tables
from .cohorts import factor_table, funnel_table
from .factors import FACTOR_COLUMNS, factor_select
from .milestones import FUNNEL_COLUMNS, funnel_select
from .rollups import BACKFILL_DAYS, backfill_days, runs_since, save_mark, settled


def cohort_days(first: dt.date, last: dt.date, *, until: dt.datetime) -> int:
    """Replace the cohort rows of the submission days ``first`` … ``last`` (Shanghai, both
    included) by the figures of the files submitted on them before ``until``, as the history
    stands now; then the weeks they fall in. Returns the rows written."""
    written = 0
    with default_connection.cursor() as cursor:
        if settings.REPORT_WORK_MEM:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.REPORT_WORK_MEM])
        start = first
        while start <= last:
            end = min(last, start + dt.timedelta(days=BACKFILL_DAYS - 1))
            lower, upper = DateRange(start, end).bounds()
            bounds = [lower, min(upper, until)]
            cursor.execute(f"DELETE FROM {funnel_table()} WHERE day >= %s AND day <= %s", [start, end])
            params: list[Any] = []
            select = funnel_select("%s", "%s", bounds, params)
            cursor.execute(
                f"INSERT INTO {funnel_table()} ({FUNNEL_COLUMNS}) SELECT * FROM ({select}) s", params
            )
            written += max(cursor.rowcount, 0)
            cursor.execute(
                f"DELETE FROM {factor_table()} WHERE period = 'day' AND day >= %s AND day <= %s", [start, end]
            )
            params = []
            select = factor_select("%s", "%s", bounds, params)
            cursor.execute(
                f"INSERT INTO {factor_table()} (period, {FACTOR_COLUMNS}) SELECT 'day', s.* FROM ({select}) s",
                params,
            )
            written += max(cursor.rowcount, 0)
            start = end + dt.timedelta(days=1)
        written += _factor_weeks(cursor, monday(first), monday(last))
    return written


def _factor_weeks(cursor: CursorWrapper, first: dt.date, last: dt.date) -> int:
    """The factors' week rows of the weeks from the Monday ``first`` to the Monday ``last``
    replaced by the sums of their days' rows: the totals added up, each octave's count added up
    and its histograms merged."""
    table = factor_table()
    keys = "week, dimension, key_text, key_id"
    cursor.execute(f"DELETE FROM {table} WHERE period = 'week' AND day >= %s AND day <= %s", [first, last])
    cursor.execute(
        f"INSERT INTO {table} (period, day, dimension, key_text, key_id, octave, submitted, decided, approved,"
        f" buckets, counts)"
        f" WITH d AS (SELECT CAST(date_trunc('week', CAST(day AS timestamp)) AS date) AS week, dimension,"
        f"  key_text, key_id, octave, submitted, decided, approved, buckets, counts FROM {table}"
        f"  WHERE period = 'day' AND day >= %s AND day <= %s),"
        f" h AS (SELECT {keys}, d.octave, u.bucket, SUM(u.n) AS n FROM d"
        f"  CROSS JOIN LATERAL unnest(d.buckets, d.counts) AS u(bucket, n) WHERE d.octave IS NOT NULL"
        f"  GROUP BY {keys}, d.octave, u.bucket)"
        f" SELECT 'week', {keys}, NULL, SUM(submitted), SUM(decided), SUM(approved),"
        f"  CAST('{{}}' AS integer[]), CAST('{{}}' AS integer[]) FROM d WHERE octave IS NULL GROUP BY {keys}"
        f" UNION ALL"
        f" SELECT 'week', {keys}, octave, 0, SUM(n), 0, array_agg(bucket ORDER BY bucket),"
        f"  array_agg(CAST(n AS integer) ORDER BY bucket) FROM h GROUP BY {keys}, octave",
        [first, last + dt.timedelta(days=6)],
    )
    return max(cursor.rowcount, 0)


def _save_mark(event_id: int, until: dt.datetime) -> None:
    save_mark(CohortRollupMark, event_id, until)


def first_submission_day() -> dt.date | None:
    first = (
        LoanApplication.objects.filter(submitted_at__isnull=False)
        .order_by("submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )
    return timezone.localdate(first) if first else None


def cohorts_backfill(*, since: dt.date | None, now: dt.datetime) -> tuple[int, int]:
    """Every submission day from ``since`` (default, and without a mark yet: the first
    submission's) to today recomputed, up to ``now − SETTLE``, and the mark set. Returns (days,
    rows). Inside ``rollups.writing``."""
    return backfill_days(CohortRollupMark, first_submission_day, cohort_days, since=since, now=now)


def cohorts_refresh(*, now: dt.datetime) -> tuple[int, int]:
    """Beat: today's cohort so far (from the last mark's day), and the submission day of every
    file that had a transition recorded since the mark, each recomputed whole from the history
    as it stands; without a mark, every day (``cohorts_backfill``). Returns (days, rows). Inside
    ``rollups.writing``."""
    mark = CohortRollupMark.objects.filter(pk=1).first()
    if mark is None or mark.rolled_until is None:
        return cohorts_backfill(since=None, now=now)
    event_id, until = settled(now)
    until = max(until, mark.rolled_until)  # the mark never goes back
    last = timezone.localdate(until)
    t = tables()
    with default_connection.cursor() as cursor:
        # The transitions since the mark, from the primary key; their files' submission days.
        cursor.execute(
            f"SELECT DISTINCT CAST(a.submitted_at AT TIME ZONE %s AS date)"
            f" FROM {t['event']} e JOIN {t['app']} a ON a.id = e.application_id"
            f" WHERE e.id > %s AND e.kind = %s AND a.submitted_at IS NOT NULL",
            [str(timezone.get_default_timezone()), mark.event_id, EventKind.TRANSITION.value],
        )
        touched = [day for (day,) in cursor.fetchall() if day <= last]
    rows = 0
    runs = runs_since(touched, timezone.localdate(mark.rolled_until), last)
    for first, final in runs:
        rows += cohort_days(first, final, until=until)
    _save_mark(max(event_id, mark.event_id), until)
    return sum((final - first).days + 1 for first, final in runs), rows
