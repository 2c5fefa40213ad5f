"""Beat's work for the reports: the default range's figures computed ahead of the managers."""

from __future__ import annotations

from celery import shared_task

from . import selectors


@shared_task
def report_refresh() -> int:
    """Every ``REPORT_REFRESH_SECONDS``: the last 90 days' report in every language, into the cache
    the page reads (``selectors.sla_report_cached``)."""
    return selectors.report_refresh()
