"""The whole SLA report: its four tables assembled in ``sla_report`` (the three shorter queries on a
second connection while the stays are grouped), the memory its sorts get, and the shared cache the
page reads it from (kept per range and language, computed once however many managers ask)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection as default_connection
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import get_language

from .base import DateRange, default_range
from .causes import CauseRow, breaches_by_cause
from .cohorts import CohortMark, cohort_mark
from .factors import FactorRow, approval_factors
from .milestones import Funnel, funnel
from .open_applications import BacklogRow, backlog
from .questions import FirstResponse, first_response
from .stays import StayGroups, stay_groups

T = TypeVar("T")


@dataclass
class SlaReport:
    range: DateRange
    now: dt.datetime
    stays: StayGroups
    backlog: list[BacklogRow]
    funnel: Funnel
    factors: dict[str, list[FactorRow]]
    # Breached stays by the cause of delay recorded when they ended (a report kept from before
    # causes were recorded has none: the default).
    causes: list[CauseRow] = field(default_factory=list)
    # First response to customers' questions (None in a report kept from before questions).
    first_response: FirstResponse | None = None
    # The funnel and the factors of the files submitted before the cohort rollups' mark are as
    # of beat's last run (``cohorts``), the later files' as of ``now``: the older of the two
    # (``now`` before the first backfill, and in a report kept from before the cohort rollups).
    cohorts_as_of: dt.datetime | None = None


@contextmanager
def report_memory() -> Iterator[None]:
    """The report's statements in one transaction with ``REPORT_WORK_MEM`` for their sorts:
    the percentiles sort every stay of the range, and with the server's default
    (4 MB) a 90-day range on a million applications sorts on disk, twice as slow (40 s against
    18 s). Only for these statements: the setting ends with the transaction."""
    # No savepoint inside a caller's transaction: the setting then lasts until that one ends.
    with transaction.atomic(savepoint=False):
        if settings.REPORT_WORK_MEM:
            with default_connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.REPORT_WORK_MEM])
        yield


def _beside(work: Callable[[], T]) -> Future[T] | None:
    """``work`` started on a second database connection, in a thread of its own with this
    thread's language and the report's memory, or None where that cannot be: inside a caller's
    transaction (a second connection would not see its rows; the tests run so)."""
    if default_connection.in_atomic_block:
        return None
    language = get_language()

    def run() -> T:
        try:
            with translation.override(language), report_memory():
                return work()
        finally:
            connections.close_all()  # this thread's connection: it ends with the thread

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sla-report")
    try:
        return executor.submit(run)
    finally:
        executor.shutdown(wait=False)


def sla_report(start: dt.date, end: dt.date, *, now: dt.datetime | None = None) -> SlaReport:
    """Every table of the SLA report for ``start`` … ``end`` (Shanghai dates, both included):
    nine queries whatever the size of the book (and one to give them memory). The benchmark calls
    this.

    Outside a transaction, the cohort rollups' mark, the funnel, the approval factors, the backlog,
    the breaches by cause and the first response to questions are computed on a second connection
    while this one reads the stays (each from its rollups and the history after their mark). Each
    statement sees the book as it was when it began, as it does one after another.
    """
    date_range = DateRange(start, end)
    now = now or timezone.now()

    def the_rest() -> tuple[
        list[BacklogRow], CohortMark, Funnel, dict[str, list[FactorRow]], list[CauseRow], FirstResponse
    ]:
        mark = cohort_mark()
        return (
            backlog(now=now),
            mark,
            funnel(date_range, known=mark),
            approval_factors(date_range, known=mark),
            breaches_by_cause(date_range),
            first_response(date_range, now=now),
        )

    beside = _beside(the_rest)
    with report_memory():
        stays = stay_groups(date_range)
        rows, mark, reached, factors, causes, questions = (
            beside.result() if beside is not None else the_rest()
        )
    return SlaReport(
        range=date_range,
        now=now,
        stays=stays,
        backlog=rows,
        funnel=reached,
        factors=factors,
        causes=causes,
        first_response=questions,
        cohorts_as_of=min(mark.as_of, now) if mark.as_of is not None else now,
    )


# --- Kept in the shared cache -------------------------------------------------------------------


def _report_key(date_range: DateRange) -> str:
    # Names of dealers, products and stages are written in the active language.
    return f"reports:sla:{date_range.start.isoformat()}:{date_range.end.isoformat()}:{get_language()}"


def cached_report(date_range: DateRange) -> SlaReport | None:
    """The range's figures as last computed in the active language, if still kept (no query).
    ``report.now`` says when they were computed; the page shows it."""
    return cache.get(_report_key(date_range)) if settings.REPORT_CACHE_SECONDS else None


def report_store(report: SlaReport) -> None:
    """Keep ``report`` for ``REPORT_CACHE_SECONDS`` under its range and the active language."""
    if settings.REPORT_CACHE_SECONDS:
        cache.set(_report_key(report.range), report, timeout=settings.REPORT_CACHE_SECONDS)


def report_refresh(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Compute the default range's report in every language and keep it (beat, every
    ``REPORT_REFRESH_SECONDS``). Returns how many were stored."""
    if not settings.REPORT_CACHE_SECONDS:
        return 0
    date_range = default_range(today=today or timezone.localdate())
    stored = 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            report_store(sla_report(date_range.start, date_range.end, now=now))
            stored += 1
    return stored
