"""The worker's part of the reports: the rollups (stays per day, cohorts per submission day) kept
up to date, and the default range's figures kept in the cache ahead of the managers."""

from __future__ import annotations

from celery import shared_task

from . import selectors


@shared_task
def report_refresh() -> int:
    """Beat, every ``REPORT_REFRESH_SECONDS``: the last 90 days' report in every language, into the
    cache the page reads (``selectors.cached_report``)."""
    return selectors.report_refresh()


@shared_task
def stay_rollup_refresh() -> int:
    """Beat, every ``REPORT_ROLLUP_SECONDS``: the daily rollups of stays brought up to date (the
    days that ended since the last run and the past days the history gained stays for), and the
    cohort rollups (today's submissions, and the submission days of the files that moved since
    the last run). The name is kept from before the cohorts (the beat schedule and the queue
    routes name it). Returns the days rolled up, stays' and cohorts' together."""
    days, _rows = selectors.rollup_refresh()
    return days
