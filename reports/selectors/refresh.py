"""Beat's run and the backfill: the stays' rollups (``rollups``) and the cohorts' (``cohort_rollups``)
brought up to date together, under one advisory lock and in one transaction
(``rollups.writing``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .cohort_rollups import cohorts_backfill, cohorts_refresh
from .rollups import stays_backfill, stays_refresh, writing


def rollup_backfill(*, since: dt.date | None = None, now: dt.datetime | None = None) -> tuple[int, int]:
    """``manage.py reports_backfill``: every day from ``since`` (default: the first stay's, the
    first submission's) to today rolled up afresh, stays and cohorts, up to ``now − SETTLE``;
    without rollups yet, the whole history whatever ``since`` says. Returns (days: the longer
    of the two spans, rows written)."""
    now = now or timezone.now()
    with writing():
        stay_days, stay_rows = stays_backfill(since=since, now=now)
        cohort_days, cohort_rows = cohorts_backfill(since=since, now=now)
    return max(stay_days, cohort_days), stay_rows + cohort_rows


def rollup_refresh(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Beat, every ``REPORT_ROLLUP_SECONDS``: the stays' days that gained stays and the cohorts'
    days whose files moved, since the marks, and today's so far; each day recomputed whole, so
    running it twice changes nothing. Without rollups yet, the whole history. Returns (days
    recomputed, stays' and cohorts' together; rows written)."""
    now = now or timezone.now()
    with writing():
        stay_days, stay_rows = stays_refresh(now=now)
        cohort_days, cohort_rows = cohorts_refresh(now=now)
    return stay_days + cohort_days, stay_rows + cohort_rows
