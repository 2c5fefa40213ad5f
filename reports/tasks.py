"""The worker's part of the reports: figures computed away from the web request, which a large
book's 90 days would outlast (tens of seconds at a million applications)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import translation

from . import selectors


@shared_task
def report_refresh() -> int:
    """Beat, every ``REPORT_REFRESH_SECONDS``: the last 90 days' report in every language, into the
    cache the page reads (``selectors.cached_report``)."""
    return selectors.report_refresh()


@shared_task
def report_compute(start: str, end: str, language: str) -> None:
    """One range's report in one language, into the cache; queued by the page when a manager asks
    for figures that are not kept (``views.report_for``)."""
    date_range = selectors.DateRange(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    with translation.override(language):
        try:
            report = selectors.sla_report(date_range.start, date_range.end)
        except Exception:
            selectors.report_release(date_range, failed=True)
            raise
        selectors.report_store(report)
        selectors.report_release(date_range)
