"""The worker's part of the reports: the daily rollups of stays kept up to date, and the default
range's figures kept in the cache ahead of the managers."""

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
    days that ended since the last run and the past days the history gained stays for). Returns
    the days rolled up."""
    days, _rows = selectors.rollup_refresh()
    return days
