"""How long will a stage take? One prediction behind the customer's expected completion time and the
staff queue's "likely to breach" marker.

The method
----------
1. **The data: recent stays.** A stay in a stage starts with the transition into the stage and ends
   with the next transition out of it, read from the history (``StageEvent``): the leaving
   transition records when the stay started (``stay_started_at``); non-transition events
   (documents, assignments) happen inside a stay and neither start nor end one. A file sent back
   to a stage gives a second stay. Only stays that *ended* in the last 90 days (``WINDOW``)
   count, so the figures follow staffing and season, and of a busy stage only its latest 5,000
   (``MAX_STAYS_PER_STAGE``): that bounds the work whatever the size of the book, and 5,000 stays
   still place a quantile to within about one per cent of them. Stays still running are left out
   (a backlog shows up once it clears, which is why the SLA states and the sweep watch the open
   files). Durations are measured on the stage's own clock, as its due time is: **working time**
   on the working calendar for staff stages (``sla.STAFF_CLOCK_STAGES``: a review from Friday
   17:00 to Monday 10:00 took two hours), wall-clock time for the automatic steps and the offer
   waiting on the customer. Figures are kept for the stages someone waits on staff or the system
   in (``PREDICTED_STAGES``) and for the offer (on the usual path to disbursement), not for
   drafts, the documents the customer owes or the final ones.
2. **Per stage and loan product** (the application's ``product``), and per stage across all
   products: the number of stays, the median (p50) and the 80th percentile (p80). Quantiles are
   continuous, interpolated linearly between the two nearest stays, as PostgreSQL's
   ``percentile_cont`` does: with the n durations sorted as d[0] … d[n-1], the q-quantile sits at
   position p = (n - 1)·q and is d[⌊p⌋] + (p - ⌊p⌋)·(d[⌊p⌋+1] - d[⌊p⌋]). Durations 1 … 100 hours
   give a median of 50.5 h and a p80 of 80.2 h.
3. **Fallback.** With at least ``MIN_SAMPLES`` (20) stays for the stage *and* the product, those
   stays; otherwise, with 20 for the stage across all products, those; otherwise the stage's time
   limit (SLA) stands in. Fewer than 20 stays say more about luck than about the stage, and the
   p80 of a handful of stays is simply the slowest of them.
4. **The customer** is told the median: "expected by Tue 14:00, about 6 hours" is entry time plus
   the median stay, added on the stage's clock (``applications.eta``, which also adds up the
   remaining stages to the expected disbursement and decides what to say once that has passed).
5. **Staff** see "likely to breach" on an open file in a stage on the staff clock
   (``sla.STAFF_CLOCK_STAGES``) when its predicted finish, entry time plus the p80 stay in working
   time, is later than its due time (``stage_due_at``, entry plus the limit in working time: so
   when the p80 is longer than the stage's limit) while the due time has not passed yet (past it,
   the file is simply breached). Put another way: more than one in five recent stays like this one lasted
   longer than the time this file was given. Why p80 and not p90: with the minimum of 20 stays the
   p90 rests on the two slowest, one lost file away from flagging the whole stage; and a warning
   that names a one-in-five risk still leaves time to act. With the SLA standing in there is no
   evidence either way and no marker. The rule runs in SQL (``likely_to_breach_condition``), so the
   queue's column and its filter agree and cost no query per row.

The table for every (stage, product) pair is **three queries** (``duration_table``): the stays,
and the working calendar's hours and days; the quantiles are computed in Python (``_query_rows``
says why). The rows and the calendar are kept in Django's cache (Redis when configured) for
``CACHE_SECONDS``, refreshed by beat, so a page costs none while the cache is warm; while the
shared cache is away (``common.cache.cache_away``) each process keeps the last table it had,
for as long, instead of computing it again for every page (0.4 s on a book of 2,000 files). Each stage's latest stays
are read newest first from ``event_stay_idx`` (from_stage, created_at, stay_started_at, …) alone,
each stay one index entry, and only those ``MAX_STAYS_PER_STAGE`` rows per stage have their
product looked up, however long the history. Figures are kept to the second.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, Q, QuerySet, Value
from django.utils import timezone

from common.cache import cache_away

from .choices import CUSTOMER_STAGES, FINAL_STAGES, EventKind, Stage
from .models import LoanApplication, StageDefinition, StageEvent
from .sla import STAFF_CLOCK_STAGES, Calendar, load_calendar, working_time_between

# How far back a stage's history counts: recent enough to follow staffing and season.
WINDOW = dt.timedelta(days=90)
# Fewer stays than this (for a stage and product, then for a stage) and the SLA stands in.
MIN_SAMPLES = 20
# A busy stage counts only its latest stays in the window: the cost of the query stays the same
# whatever the size of the book, and 5,000 stays still pin a quantile to within about 1 %.
MAX_STAYS_PER_STAGE = 5000
# The stages a prediction is made for: those the customer waits on staff or the system in.
PREDICTED_STAGES = frozenset(set(Stage) - FINAL_STAGES - CUSTOMER_STAGES)
# The stages the table measures: those, and the offer on the usual path to disbursement, whose
# stays (how long customers take to accept) are part of the expected disbursement date.
MEASURED_STAGES = PREDICTED_STAGES | {Stage.OFFER_PENDING}
# What the customer is told, and what staff are warned with (see the module's docstring).
MEDIAN = 0.5
BREACH_QUANTILE = 0.8
# The figures move slowly and every timeline and queue page reads them.
CACHE_SECONDS = 300
_CACHE_KEY = "prediction:stays:v2"
# The table this process last computed or read, and when (time.monotonic()): used while the shared
# cache is away, so the pages of that time do not each compute it.
_kept_here: tuple[float, dict] | None = None


# Which stays a prediction rests on: the stage's for the product, the stage's, or none (the SLA).
Source = Literal["product", "stage", "sla"]


@dataclass(frozen=True)
class StayStats:
    """Recent stays in a stage (for one product, or for all): how many, and how long they took."""

    samples: int
    median: dt.timedelta
    p80: dt.timedelta


@dataclass(frozen=True)
class DurationTable:
    """The quantiles of every stage's recent stays, per product and across all products."""

    by_stage: dict[str, StayStats] = field(default_factory=dict)
    by_product: dict[tuple[str, int], StayStats] = field(default_factory=dict)
    # The working calendar the staff stages' stays were measured on, and expected dates are placed on.
    calendar: Calendar = field(default_factory=Calendar)

    def stats_for(self, stage: str, product_id: int | None) -> tuple[StayStats | None, Source]:
        """The stays a prediction for ``stage`` and ``product_id`` rests on, with their level
        ("product" or "stage"); (None, "sla") with too few at both levels."""
        own = self.by_product.get((stage, product_id)) if product_id is not None else None
        if own is not None and own.samples >= MIN_SAMPLES:
            return own, "product"
        overall = self.by_stage.get(stage)
        if overall is not None and overall.samples >= MIN_SAMPLES:
            return overall, "stage"
        return None, "sla"

    def samples(self, stage: str) -> int:
        overall = self.by_stage.get(stage)
        return overall.samples if overall else 0


@dataclass(frozen=True)
class Prediction:
    """How long a stay in a stage should take for one product."""

    median: dt.timedelta  # what the customer is told
    p80: dt.timedelta  # what the "likely to breach" marker compares with the time limit
    source: Source
    samples: int  # the stays behind it; with the SLA, the stage's stays (too few)

    @property
    def from_history(self) -> bool:
        return self.source != "sla"


# --- The table: one query, cached ---------------------------------------------------------------


def _stays_sql(*, now: dt.datetime) -> tuple[str, list]:
    """The stays of every predicted stage, as one SQL statement and its parameters: each stage's
    latest ``MAX_STAYS_PER_STAGE`` stays that ended in the ``WINDOW`` before ``now``, with the
    stage, the application's product, when the stay started and when it ended.

    A stay is its leaving transition, which records when the stay started
    (``StageEvent.stay_started_at``; empty: not a stay). Each stage's stays are read newest first
    from the ``event_stay_idx`` index alone and cut at the limit; only then is the product looked
    up, for those rows. The stages' reads are wrapped (each with its own ORDER BY and LIMIT) and
    put one after another. The event kind is written in, not bound: the planner uses a partial
    index only when it can see its condition."""
    qn = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    transition = EventKind.TRANSITION.value
    assert transition.isidentifier()  # a code constant, never input
    parts: list[str] = []
    params: list = []
    for stage in sorted(MEASURED_STAGES):
        # Table names and this module's constants written in; every value is a parameter.
        parts.append(
            f"SELECT * FROM (SELECT e.from_stage AS stage, e.application_id,"  # noqa: S608
            f" e.stay_started_at AS entered_at, e.created_at AS left_at"
            f" FROM {qn(StageEvent._meta.db_table)} e"
            f" WHERE e.kind = '{transition}' AND e.from_stage = %s"
            f" AND e.created_at >= %s AND e.created_at <= %s AND e.stay_started_at IS NOT NULL"
            f" ORDER BY e.created_at DESC LIMIT %s) AS stays_{len(parts)}"
        )
        params.extend([stage, adapt(now - WINDOW), adapt(now), MAX_STAYS_PER_STAGE])
    sql = (
        f"SELECT s.stage, a.product_id AS product, s.entered_at, s.left_at"  # noqa: S608
        f" FROM ({' UNION ALL '.join(parts)}) AS s"
        f" JOIN {qn(LoanApplication._meta.db_table)} a ON a.id = s.application_id"
    )
    return sql, params


def _quantile(durations: list[float], q: float) -> float:
    """The q-quantile of sorted ``durations``, continuous, as PostgreSQL's ``percentile_cont``."""
    position = (len(durations) - 1) * q
    low = int(position)
    high = min(low + 1, len(durations) - 1)
    return durations[low] + (position - low) * (durations[high] - durations[low])


def _stay_seconds(stage: str, entered_at: dt.datetime, left_at: dt.datetime, calendar: Calendar) -> float:
    """How long a stay took on its stage's clock: working time on the staff clock, else wall-clock."""
    if stage in STAFF_CLOCK_STAGES:
        return working_time_between(entered_at, left_at, calendar).total_seconds()
    return (left_at - entered_at).total_seconds()


def _query_rows(*, now: dt.datetime, calendar: Calendar) -> list[tuple]:
    """(stage, product id or None, all products?, samples, median seconds, p80 seconds) rows.

    Why the quantiles are computed here and not in SQL: a staff stage's stay is measured in
    working time (a review from Friday 17:00 to Monday 10:00 took two hours, as its due time
    counts them), and working time needs the calendar (working hours, holidays, 调休 make-up days).
    Of the ways to have it, this is the simplest that is right for every stay, old or new: the
    stays are already bounded (``MAX_STAYS_PER_STAGE`` per stage), so one query fetches them and
    Python measures each on the calendar. A PostgreSQL function over the calendar table would be a
    second copy of ``sla.add_working_time``'s rules in another language; a working duration stored
    on each event at transition time would need a migration of the whole history and a fallback
    for old events. Beat computes this every few minutes, off the request path."""
    stays_sql, stays_params = _stays_sql(now=now)
    with connection.cursor() as cursor:
        cursor.execute(stays_sql, stays_params)
        fetched = cursor.fetchall()
    groups: dict[tuple[str, int | None, bool], list[float]] = defaultdict(list)
    for stage, product, entered_at, left_at in fetched:
        seconds = _stay_seconds(stage, entered_at, left_at, calendar)
        groups[(stage, product, False)].append(seconds)
        groups[(stage, None, True)].append(seconds)
    rows = []
    for (stage, product, all_products), durations in sorted(groups.items(), key=lambda item: str(item[0])):
        durations.sort()
        median, p80 = _quantile(durations, MEDIAN), _quantile(durations, BREACH_QUANTILE)
        rows.append((stage, product, all_products, len(durations), round(median), round(p80)))
    return rows


def _table_calendar(now: dt.datetime) -> Calendar:
    """The working calendar from a year before ``now`` (the stays measured) to a year after it
    (the expected dates placed): two queries, cached with the table."""
    return load_calendar(around=(now - dt.timedelta(days=366)).date(), days=2 * 366)


def duration_table_refresh(*, now: dt.datetime | None = None) -> list[tuple]:
    """Compute the table (three queries: the stays, the calendar's hours and its holidays) and put
    it in the cache, with the calendar, for ``CACHE_SECONDS``.

    Beat runs this every ``PREDICTION_REFRESH_INTERVAL`` seconds (``applications.tasks``), well
    inside the cache's lifetime, so with a shared cache (Redis) no page request ever waits for the
    computation; without beat, or with a per-process cache, the first request after expiry does.
    An edit of the calendar in the admin shows in the expected dates at the next refresh.
    """
    return _refresh(now=now or timezone.now())["rows"]


def _refresh(*, now: dt.datetime) -> dict:
    calendar = _table_calendar(now)
    kept = {"rows": _query_rows(now=now, calendar=calendar), "calendar": calendar}
    cache.set(_CACHE_KEY, kept, timeout=CACHE_SECONDS)
    _keep_here(kept)
    return kept


def _keep_here(kept: dict) -> None:
    global _kept_here
    _kept_here = (time.monotonic(), kept)


def _kept_here_while_away() -> dict | None:
    """This process's last table, if the shared cache is away and the table is not older than the
    cache would have kept it."""
    if _kept_here is None or not cache_away():
        return None
    kept_at, kept = _kept_here
    return kept if time.monotonic() - kept_at < CACHE_SECONDS else None


def duration_table(*, now: dt.datetime | None = None) -> DurationTable:
    """The stays' quantiles for every stage and product, with the working calendar: from the
    cache, else computed (``duration_table_refresh``; ``now`` places the 90 days)."""
    kept = cache.get(_CACHE_KEY)
    if kept is None:
        kept = _kept_here_while_away() or _refresh(now=now or timezone.now())
    else:
        _keep_here(kept)
    by_stage: dict[str, StayStats] = {}
    by_product: dict[tuple[str, int], StayStats] = {}
    for stage, product, all_products, samples, median, p80 in kept["rows"]:
        stats = StayStats(samples, dt.timedelta(seconds=median), dt.timedelta(seconds=p80))
        if all_products:
            by_stage[stage] = stats
        elif product is not None:  # stays of drafts without a product count only for the stage
            by_product[(stage, product)] = stats
    return DurationTable(by_stage=by_stage, by_product=by_product, calendar=kept["calendar"])


# --- One application's stage --------------------------------------------------------------------


def stage_prediction(
    stage: str,
    *,
    product_id: int | None,
    sla: dt.timedelta | None,
    now: dt.datetime | None = None,
    table: DurationTable | None = None,
) -> Prediction | None:
    """How long a stay in ``stage`` should take for an application of ``product_id``: from the
    stays of that stage and product, else of that stage, else the time limit ``sla`` (from the
    stage's ``StageDefinition``). None without history and without a time limit."""
    table = duration_table(now=now) if table is None else table
    stats, source = table.stats_for(stage, product_id)
    if stats is not None:
        return Prediction(median=stats.median, p80=stats.p80, source=source, samples=stats.samples)
    if sla is not None:
        return Prediction(median=sla, p80=sla, source="sla", samples=table.samples(stage))
    return None


# --- The queue's marker: the same rule for every row, in SQL -----------------------------------


def likely_to_breach_condition(*, now: dt.datetime, table: DurationTable) -> Q | None:
    """Open files whose stage's p80 stay (for their product, with the same fallback as
    ``stage_prediction``) is longer than the stage's time limit, and whose due time has not passed
    yet; None while no stage has the history to say so.

    Both are working time: a staff stage's due time is its entry plus the limit on the working
    calendar, and its stays are measured on the same calendar, so "entry + p80 > due" is
    "p80 > limit" whatever the weekday of entry. The limit is the stage definition's current one,
    read inside the page's own query (an ``EXISTS``), so the rule costs no query of its own.
    """
    parts: list[Q] = []
    stages: set[str] = set()

    def limit_shorter_than(stage: str, p80: dt.timedelta) -> Q:
        return Q(Exists(StageDefinition.objects.filter(stage=stage, sla__lt=p80)))

    for stage in sorted(STAFF_CLOCK_STAGES):
        with_own_figures = []
        for (row_stage, product_id), stats in sorted(table.by_product.items()):
            if row_stage == stage and stats.samples >= MIN_SAMPLES:
                with_own_figures.append(product_id)
                stages.add(stage)
                parts.append(Q(stage=stage, product_id=product_id) & limit_shorter_than(stage, stats.p80))
        overall = table.by_stage.get(stage)
        if overall is not None and overall.samples >= MIN_SAMPLES:
            others = Q(stage=stage) & limit_shorter_than(stage, overall.p80)
            if with_own_figures:  # products with their own figures were judged by those
                others &= ~Q(product_id__in=with_own_figures)
            stages.add(stage)
            parts.append(others)
    if not parts:
        return None
    # The stages and the due time up front: the (stage, stage_due_at) index narrows the rows the
    # per-stage conditions are then tried on.
    return Q(stage__in=sorted(stages), stage_due_at__gt=now) & functools.reduce(operator.or_, parts)


def annotate_likely_to_breach(
    queryset: QuerySet[LoanApplication], *, now: dt.datetime, table: DurationTable | None = None
) -> QuerySet[LoanApplication]:
    """Each row with ``likely_to_breach`` (True / False), computed in the page's own query."""
    table = duration_table(now=now) if table is None else table
    condition = likely_to_breach_condition(now=now, table=table)
    if condition is None:
        return queryset.annotate(likely_to_breach=Value(False, output_field=BooleanField()))
    return queryset.annotate(likely_to_breach=ExpressionWrapper(condition, output_field=BooleanField()))


def filter_likely_to_breach(
    queryset: QuerySet[LoanApplication], *, now: dt.datetime, table: DurationTable | None = None
) -> QuerySet[LoanApplication]:
    """Only the files ``likely_to_breach_condition`` marks."""
    table = duration_table(now=now) if table is None else table
    condition = likely_to_breach_condition(now=now, table=table)
    return queryset.none() if condition is None else queryset.filter(condition)
