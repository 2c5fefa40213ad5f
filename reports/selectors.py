"""Reads for the managers' SLA report. Every figure is aggregated in SQL, in a fixed number of queries.

Definitions (the report's page and its CSV files say the same):

- **A stay** in a stage runs from the transition into the stage to the next transition out of it,
  in one application's history (``StageEvent`` rows of kind transition), as for
  ``applications.prediction``: the leaving transition records when the stay began and was due
  (``stay_started_at``, ``stay_due_at``), so each stay is one row. Document and assignment events
  happen inside a stay. A file sent back to review has two stays in review. Drafts are not
  reported.
- **A stay counts in a date range** when it *ended* in the range (its leaving transition's time,
  read as a date in Asia/Shanghai). Stays still running are the backlog, not durations.
- **Breached**: the stay ended after the due time recorded when the stage was entered
  (``StageEvent.due_at``, kept since migration 0012, which the leaving transition repeats as
  ``stay_due_at``; staff stages count their limit in working time). Stays without a recorded due time (stages without a limit, history from before 0012)
  count in the durations but not in the breach share, whose denominator is shown beside it.
- **Median and p90** are ``percentile_cont``: sort the n durations, take position p·(n − 1)
  (0-based) and interpolate linearly between the two neighbouring values (PostgreSQL's
  ``percentile_cont(p) WITHIN GROUP (ORDER BY …)``). Durations are measured to the millisecond
  (each timestamp rounded to the nearest millisecond).
- **The reviewer** of a stay is the staff member whose transition ended it (reviewer, approver,
  operations, finance); stays ended by the customer, a dealer or the system are grouped as such —
  customers never appear by name.
- **The funnel** follows the applications *submitted* in the range: how many of them have ever
  entered a stage of each of the five customer milestones.
- **Approval factors** follow the same applications: the decision is the transition into
  ``offer_pending`` (approved) or ``rejected`` (by the pre-check, a reviewer or an approver); the
  state machine allows at most one of them per application. The approval rate is approved ÷
  decided, the time to decision runs from submission.

Queries: ``stay_groups`` 1, ``backlog`` 1, ``funnel`` 1, ``approval_factors`` 1 — ``sla_report``
makes these four whatever the size of the book. Values never go into the SQL text: every value is
a query parameter; only table names, column names and this module's own constants are written in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection as default_connection
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from applications.choices import (
    FINAL_STAGES,
    MILESTONES,
    NEW_ENERGY_POWERTRAINS,
    EventKind,
    IncomeBand,
    Stage,
)
from applications.models import Applicant, Dealer, LoanApplication, LoanProduct, StageEvent

T = TypeVar("T")

# Stages with stays and a backlog: every stage a file can wait in, but drafts (not yet submitted,
# no entering transition) and the final stages (nothing leaves them).
REPORT_STAGES: tuple[str, ...] = tuple(s.value for s in Stage if s not in FINAL_STAGES and s != Stage.DRAFT)
# A range may cover at most this many days; it starts no earlier than ``EARLIEST_DATE``.
MAX_RANGE_DAYS = 366
EARLIEST_DATE = dt.date(2000, 1, 1)

# The groupings of stays, in the order the report shows them.
STAY_DIMENSIONS = ("stage", "reviewer", "dealer", "product", "stage_week", "week", "total")
# The groupings of the approval factors.
FACTOR_DIMENSIONS = ("down_payment", "income", "term", "energy", "dealer")
# Down-payment bands: (code, lower bound in per cent of the vehicle price, label), lowest first.
DOWN_PAYMENT_BANDS = (
    ("lt20", 0, _("Under 20%")),
    ("20-30", 20, _("20–30%")),
    ("30-40", 30, _("30–40%")),
    ("40-50", 40, _("40–50%")),
    ("50+", 50, _("50% and more")),
)
# Backlog age buckets: (code, upper bound of the age, label); the last one has no bound.
AGE_BUCKETS = (
    ("lt4h", dt.timedelta(hours=4), _("Under 4 h")),
    ("4-24h", dt.timedelta(hours=24), _("4–24 h")),
    ("1-3d", dt.timedelta(days=3), _("1–3 days")),
    ("3-7d", dt.timedelta(days=7), _("3–7 days")),
    ("gt7d", None, _("Over 7 days")),
)
ENERGY_LABELS = {"new_energy": _("New-energy (BEV, PHEV)"), "fuel": _("Fuel or hybrid")}
# The group of stays ended by someone who is not staff: their names are never shown.
NOT_STAFF_LABEL = _("Customer, dealer or system")


# --- The range ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """Dates in the project's time zone (Asia/Shanghai), both ends included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start_at, end_at)``: the first instant of ``start`` and of the day after ``end``."""
        zone = timezone.get_default_timezone()
        start_at = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end_at = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start_at, end_at


def default_range(*, today: dt.date | None = None, days: int = 90) -> DateRange:
    """The last ``days`` days up to and including today (Shanghai)."""
    today = today or timezone.localdate()
    return DateRange(today - dt.timedelta(days=days - 1), today)


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StayStats:
    stays: int = 0
    median: float | None = None  # seconds
    p90: float | None = None  # seconds
    with_due: int = 0  # stays whose due time is on record: the breach share's denominator
    breached: int = 0

    @property
    def breach_share(self) -> float | None:
        return self.breached / self.with_due if self.with_due else None


@dataclass(frozen=True)
class StayRow:
    """One group of stays: a stage (None for all stages), and for a breakdown its key and label."""

    stage: str | None
    stats: StayStats
    key: Any = None  # a user, dealer or product id, or the Monday of a week
    label: str = ""

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label if self.stage else ""


@dataclass
class StayGroups:
    stages: list[StayRow] = field(default_factory=list)  # every report stage, none missing
    total: StayRow = field(default_factory=lambda: StayRow(None, StayStats()))
    reviewer: list[StayRow] = field(default_factory=list)
    dealer: list[StayRow] = field(default_factory=list)
    product: list[StayRow] = field(default_factory=list)
    stage_week: list[StayRow] = field(default_factory=list)
    week: list[StayRow] = field(default_factory=list)  # all stages together, one row per week


@dataclass(frozen=True)
class BacklogRow:
    stage: str
    total: int
    buckets: tuple[int, ...]  # in ``AGE_BUCKETS`` order
    overdue: int

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


@dataclass(frozen=True)
class Funnel:
    submitted: int
    reached: tuple[int, ...]  # applications that reached milestone 1 … 5
    rejected: int
    withdrawn: int
    expired: int


@dataclass(frozen=True)
class FactorRow:
    dimension: str
    key: Any  # a band code, a term in months, "new_energy" / "fuel", or a dealer id
    label: str
    submitted: int
    decided: int
    approved: int
    median_to_decision: float | None  # seconds

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.decided if self.decided else None


@dataclass
class SlaReport:
    range: DateRange
    now: dt.datetime
    stays: StayGroups
    backlog: list[BacklogRow]
    funnel: Funnel
    factors: dict[str, list[FactorRow]]


# --- SQL building blocks ------------------------------------------------------------------------


def _tables() -> dict[str, str]:
    qn = default_connection.ops.quote_name
    return {
        "event": qn(StageEvent._meta.db_table),
        "app": qn(LoanApplication._meta.db_table),
        "applicant": qn(Applicant._meta.db_table),
        "user": qn(get_user_model()._meta.db_table),
        "dealer": qn(Dealer._meta.db_table),
        "product": qn(LoanProduct._meta.db_table),
    }


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _seconds(later: str, earlier: str) -> str:
    """SQL for ``later − earlier`` in seconds, each timestamp rounded to the millisecond first."""
    return (
        f"CAST((round(extract(epoch FROM {later}) * 1000)"
        f" - round(extract(epoch FROM {earlier}) * 1000)) / 1000 AS double precision)"
    )


def _week_start(column: str, params: list[Any]) -> str:
    """SQL for the Monday (a date) of the ISO week ``column`` falls in, in the project's zone."""
    params.append(str(timezone.get_default_timezone()))
    return f"CAST(date_trunc('week', {column} AT TIME ZONE %s) AS date)"


def _percentiles_sql(
    source: str, group_by: Sequence[str], value: str, *, extra: str, percentiles=(0.5, 0.9)
) -> str:
    """``SELECT <group_by>, <extra>, pct_50, pct_90 FROM <source> GROUP BY <group_by>``, the
    percentiles interpolated linearly (``percentile_cont``). NULL values are left out, as
    ``percentile_cont`` leaves them out; a group without values gets NULL."""
    keys = ", ".join(group_by)
    names = [f"pct_{round(p * 100)}" for p in percentiles]
    columns = ", ".join(
        f"percentile_cont({p}) WITHIN GROUP (ORDER BY {value}) AS {name}"
        for p, name in zip(percentiles, names, strict=True)
    )
    return f"SELECT {keys}, {extra}, {columns} FROM {source} GROUP BY {keys}"


def _stays_cte(start_at: dt.datetime, end_at: dt.datetime, params: list[Any]) -> str:
    """``stays``: one row per stay that ended in ``[start_at, end_at)`` (see the module's words).

    A stay is its leaving transition, which records when the stay began and was due
    (``StageEvent.stay_started_at``, ``stay_due_at``): the rows come from the ``event_stay_idx``
    index alone (an index-only scan), with the application's dealer and product and the
    actor's staff flag joined on. The event kind is written in, not bound: the planner uses the
    partial index only when it can see its condition."""
    t = _tables()
    week = _week_start("e.created_at", params)
    seconds = _seconds("e.created_at", "e.stay_started_at")
    transition = EventKind.TRANSITION.value
    assert transition.isidentifier()  # a code constant, never input
    params.extend(REPORT_STAGES)
    params.extend([start_at, end_at])
    return (
        f"stays AS ("
        f" SELECT e.from_stage AS stage,"
        f"  CASE WHEN u.is_staff THEN e.actor_id END AS staff_id,"
        f"  a.dealer_id AS dealer_id, a.product_id AS product_id,"
        f"  {week} AS week,"
        f"  {seconds} AS seconds,"
        f"  CASE WHEN e.stay_due_at IS NULL THEN NULL WHEN e.created_at > e.stay_due_at THEN 1 ELSE 0 END"
        f"   AS breached"
        f" FROM {t['event']} e"
        f" JOIN {t['app']} a ON a.id = e.application_id"
        f" LEFT JOIN {t['user']} u ON u.id = e.actor_id"
        f" WHERE e.kind = '{transition}' AND e.from_stage IN ({_placeholders(REPORT_STAGES)})"
        f"  AND e.created_at >= %s AND e.created_at < %s AND e.stay_started_at IS NOT NULL"
        f")"
    )


_STAY_AGGREGATES = "COUNT(*) AS stays, COUNT(breached) AS with_due, COALESCE(SUM(breached), 0) AS breached"


# The columns each grouping of stays groups by (GROUPING SETS).
_STAY_GROUPING_KEYS = {
    "stage": ("stage",),
    "reviewer": ("stage", "staff_id"),
    "dealer": ("stage", "dealer_id"),
    "product": ("stage", "product_id"),
    "stage_week": ("stage", "week"),
    "week": ("week",),
    "total": (),
}
_GROUPING_COLUMNS = ("stage", "staff_id", "dealer_id", "product_id", "week")


def _grouping_sets_sql(dimensions: Sequence[str]) -> str:
    """Every grouping in one ``GROUP BY GROUPING SETS`` over ``stays``; the row's
    grouping is read back from ``GROUPING(…)``, whose bits mark the columns it does not group by
    (the first column the highest bit)."""
    columns = ", ".join(_GROUPING_COLUMNS)
    whens, sets = [], []
    for dimension in dimensions:
        keys = _STAY_GROUPING_KEYS[dimension]
        mask = sum(
            1 << (len(_GROUPING_COLUMNS) - 1 - n) for n, c in enumerate(_GROUPING_COLUMNS) if c not in keys
        )
        whens.append(f"WHEN {mask} THEN '{dimension}'")
        sets.append(f"({', '.join(keys)})")
    key_id = " ".join(
        f"WHEN GROUPING({column}) = 0 THEN {column}" for column in ("staff_id", "dealer_id", "product_id")
    )
    return (
        f"SELECT CASE GROUPING({columns}) {' '.join(whens)} END AS dim, stage,"
        f" CASE {key_id} END AS key_id, week, {_STAY_AGGREGATES},"
        f" percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS pct_50,"
        f" percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS pct_90"
        f" FROM stays GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


def stay_groups_sql(
    date_range: DateRange, *, dimensions: Sequence[str] = STAY_DIMENSIONS
) -> tuple[str, list[Any]]:
    """The SQL and parameters of the stays grouped by ``dimensions`` (one query).

    Columns: dim, stage, key_id, week, stays, with_due, breached, pct_50, pct_90, then the labels
    (user name, dealer name, product names). Every grouping comes from the one ``stays`` set, so
    the history is read once and grouped with ``GROUPING SETS``.
    """
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    stays = _stays_cte(start_at, end_at, params)
    grouped = _grouping_sets_sql(dimensions)
    t = _tables()
    sql = (
        f"WITH {stays}"
        f" SELECT g.dim, g.stage, g.key_id, g.week, g.stays, g.with_due, g.breached, g.pct_50, g.pct_90,"
        f"  u.username, d.name, pr.name_zh_hans, pr.name_en"
        f" FROM ({grouped}) g"
        f" LEFT JOIN {t['user']} u ON g.dim = 'reviewer' AND u.id = g.key_id"
        f" LEFT JOIN {t['dealer']} d ON g.dim = 'dealer' AND d.id = g.key_id"
        f" LEFT JOIN {t['product']} pr ON g.dim = 'product' AND pr.id = g.key_id"
    )
    return sql, params


def stage_summary_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """The raw ``GROUP BY`` the per-stage table wraps: the stays of the range, grouped by stage, with
    count, breach counts, median and p90. For the benchmark ("the report vs the SQL it wraps")."""
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    stays = _stays_cte(start_at, end_at, params)
    grouped = _percentiles_sql("stays", ("stage",), "seconds", extra=_STAY_AGGREGATES)
    return f"WITH {stays} {grouped}", params


def _seconds_value(value: Any) -> float | None:
    # Rounded to the millisecond the durations are measured in; hides the last bit of float noise.
    return None if value is None else round(float(value), 3)


def _localized(zh: str | None, en: str | None) -> str:
    if (get_language() or "").startswith("en"):
        return en or zh or ""
    return zh or en or ""


def stay_groups(date_range: DateRange) -> StayGroups:
    """Every grouping of the stays that ended in the range (1 query). The weekly rows cover every
    week the range touches (the first and last may be partial), empty weeks too."""
    sql, params = stay_groups_sql(date_range)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    groups = StayGroups()
    by_stage: dict[str, StayRow] = {}
    order = {stage: number for number, stage in enumerate(REPORT_STAGES)}
    for dim, stage, key_id, week, stays, with_due, breached, median, p90, username, dealer, zh, en in rows:
        stats = StayStats(
            stays=int(stays),
            median=_seconds_value(median),
            p90=_seconds_value(p90),
            with_due=int(with_due),
            breached=int(breached),
        )
        if dim == "stage":
            by_stage[stage] = StayRow(stage, stats)
        elif dim == "total":
            groups.total = StayRow(None, stats)
        elif dim in ("stage_week", "week"):
            getattr(groups, dim).append(StayRow(stage, stats, key=week, label=iso_week_label(week)))
        else:
            label = {"reviewer": username, "dealer": dealer, "product": _localized(zh, en)}[dim]
            if key_id is None:
                label = str(NOT_STAFF_LABEL) if dim == "reviewer" else "—"
            getattr(groups, dim).append(StayRow(stage, stats, key=key_id, label=label or ""))
    groups.stages = [by_stage.get(stage) or StayRow(stage, StayStats()) for stage in REPORT_STAGES]
    weeks = {row.key: row for row in groups.week}
    monday = date_range.start - dt.timedelta(days=date_range.start.weekday())
    groups.week = []
    while monday <= date_range.end:
        groups.week.append(
            weeks.get(monday) or StayRow(None, StayStats(), key=monday, label=iso_week_label(monday))
        )
        monday += dt.timedelta(days=7)
    for dim in ("reviewer", "dealer", "product"):
        # Stage by stage in lifecycle order; the unnamed group (customer or system) last in each.
        getattr(groups, dim).sort(key=lambda r: (order[r.stage], r.key is None, r.label.casefold()))
    groups.stage_week.sort(key=lambda r: (order[r.stage], r.key or dt.date.min))
    return groups


def iso_week_label(monday: dt.date | None) -> str:
    if monday is None:
        return ""
    year, week, _weekday = monday.isocalendar()
    return f"{year}-W{week:02d}"


# --- The backlog --------------------------------------------------------------------------------


def backlog(*, now: dt.datetime | None = None) -> list[BacklogRow]:
    """Open applications by stage and how long they have been in it, now (1 query). Every report
    stage is listed, empty ones too. Overdue: past the stage's due time."""
    now = now or timezone.now()
    t = _tables()
    params: list[Any] = []
    buckets = []
    lower = None
    for _code, upper, _label in AGE_BUCKETS:
        # Age below ``upper`` ⇔ entered after now − upper; at least ``lower`` ⇔ at or before now − lower.
        conditions = []
        if upper is not None:
            conditions.append("stage_entered_at > %s")
            params.append(now - upper)
        if lower is not None:
            conditions.append("stage_entered_at <= %s")
            params.append(now - lower)
        buckets.append(f"SUM(CASE WHEN {' AND '.join(conditions)} THEN 1 ELSE 0 END)")
        lower = upper
    params.append(now)
    params.extend(REPORT_STAGES)
    sql = (
        f"SELECT stage, COUNT(*), {', '.join(buckets)},"
        f" SUM(CASE WHEN stage_due_at IS NOT NULL AND stage_due_at <= %s THEN 1 ELSE 0 END)"
        f" FROM {t['app']} WHERE stage IN ({_placeholders(REPORT_STAGES)}) GROUP BY stage"
    )
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {row[0]: row for row in cursor.fetchall()}
    rows = []
    for stage in REPORT_STAGES:
        row = found.get(stage)
        if row is None:
            rows.append(BacklogRow(stage, 0, (0,) * len(AGE_BUCKETS), 0))
        else:
            rows.append(BacklogRow(stage, int(row[1]), tuple(int(n) for n in row[2:-1]), int(row[-1])))
    return rows


# --- The funnel ---------------------------------------------------------------------------------


def funnel(date_range: DateRange) -> Funnel:
    """How far the applications submitted in the range got: milestone by milestone (1 query)."""
    t = _tables()
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    whens = []
    for milestone in reversed(MILESTONES):
        stages = [s.value for s in milestone.stages]
        whens.append(f"WHEN e.to_stage IN ({_placeholders(stages)}) THEN {milestone.number}")
        params.extend(stages)
    params.append(EventKind.TRANSITION.value)
    params.extend([start_at, end_at])
    reached = ", ".join(
        f"COALESCE(SUM(CASE WHEN f.reached >= {m.number} THEN 1 ELSE 0 END), 0)" for m in MILESTONES
    )
    ends = (Stage.REJECTED.value, Stage.WITHDRAWN.value, Stage.EXPIRED.value)
    closed = ", ".join("COALESCE(SUM(CASE WHEN f.stage = %s THEN 1 ELSE 0 END), 0)" for _ in ends)
    sql = (
        f"SELECT COUNT(*), {reached}, {closed} FROM ("
        f" SELECT a.id, a.stage, MAX(CASE {' '.join(whens)} ELSE 1 END) AS reached"
        f" FROM {t['app']} a JOIN {t['event']} e ON e.application_id = a.id AND e.kind = %s"
        f" WHERE a.submitted_at >= %s AND a.submitted_at < %s"
        f" GROUP BY a.id, a.stage) f"
    )
    # The outer SELECT's placeholders come first in the text.
    params = [*ends, *params]
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    count = len(MILESTONES)
    return Funnel(
        submitted=int(row[0]),
        reached=tuple(int(n) for n in row[1 : 1 + count]),
        rejected=int(row[1 + count]),
        withdrawn=int(row[2 + count]),
        expired=int(row[3 + count]),
    )


# --- Approval factors ---------------------------------------------------------------------------


_FACTOR_DIMENSION_COLUMNS = {
    # dimension: (key_text, key_id)
    "down_payment": ("down_band", "NULL"),
    "income": ("income_band", "NULL"),
    "term": ("NULL", "term_months"),
    "energy": ("energy", "NULL"),
    "dealer": ("NULL", "dealer_id"),
}


def approval_factors_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    t = _tables()
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    energy = f"CASE WHEN a.powertrain IN ({_placeholders(NEW_ENERGY_POWERTRAINS)}) THEN 'new_energy' ELSE 'fuel' END"
    params.extend(sorted(p.value for p in NEW_ENERGY_POWERTRAINS))
    # Compared without division: down payment · 100 against the bound · price, both exact.
    band_whens = " ".join(
        f"WHEN a.down_payment * 100 < a.vehicle_price * {upper} THEN '{code}'"
        for (code, _lower, _label), (_next, upper, _next_label) in pairwise(DOWN_PAYMENT_BANDS)
    )
    down_band = f"CASE WHEN a.down_payment IS NULL OR a.vehicle_price IS NULL THEN NULL {band_whens} ELSE '{DOWN_PAYMENT_BANDS[-1][0]}' END"
    approved = "CASE WHEN d.to_stage = %s THEN 1 WHEN d.to_stage = %s THEN 0 END"
    params.extend([Stage.OFFER_PENDING.value, Stage.REJECTED.value])
    seconds = _seconds("d.created_at", "a.submitted_at")
    params.extend([EventKind.TRANSITION.value, Stage.OFFER_PENDING.value, Stage.REJECTED.value])
    params.extend([start_at, end_at])
    decided = (
        f"decided AS ("
        f" SELECT a.dealer_id, a.term_months, {energy} AS energy, {down_band} AS down_band,"
        f"  COALESCE(ap.income_band, '') AS income_band, {approved} AS approved, {seconds} AS seconds"
        f" FROM {t['app']} a"
        f" LEFT JOIN {t['applicant']} ap ON ap.application_id = a.id"
        f" LEFT JOIN {t['event']} d ON d.application_id = a.id AND d.kind = %s AND d.to_stage IN (%s, %s)"
        f" WHERE a.submitted_at >= %s AND a.submitted_at < %s"
        f")"
    )
    branches = []
    for dimension in FACTOR_DIMENSIONS:
        key_text, key_id = _FACTOR_DIMENSION_COLUMNS[dimension]
        branches.append(
            f"SELECT '{dimension}' AS dim, CAST({key_text} AS VARCHAR(20)) AS key_text,"
            f" CAST({key_id} AS BIGINT) AS key_id, approved, seconds FROM decided"
        )
    grouped = _percentiles_sql(
        "dims",
        ("dim", "key_text", "key_id"),
        "seconds",
        extra="COUNT(*) AS submitted, COUNT(approved) AS decided, COALESCE(SUM(approved), 0) AS approved",
        percentiles=(0.5,),
    )
    sql = (
        f"WITH {decided}, dims AS ({' UNION ALL '.join(branches)})"
        f" SELECT g.dim, g.key_text, g.key_id, g.submitted, g.decided, g.approved, g.pct_50, dl.name"
        f" FROM ({grouped}) g"
        f" LEFT JOIN {t['dealer']} dl ON g.dim = 'dealer' AND dl.id = g.key_id"
    )
    return sql, params


def approval_factors(date_range: DateRange) -> dict[str, list[FactorRow]]:
    """Approval rate and median time to decision by each factor, for the applications submitted in
    the range (1 query). Keys of ``FACTOR_DIMENSIONS``; labels are filled in by the caller's words
    (``reports.labels``) except the dealer's name."""
    sql, params = approval_factors_sql(date_range)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    factors: dict[str, list[FactorRow]] = {dimension: [] for dimension in FACTOR_DIMENSIONS}
    for dim, key_text, key_id, submitted, decided, approved, median, dealer in rows:
        key = (None if key_id is None else int(key_id)) if dim in ("term", "dealer") else key_text
        factors[dim].append(
            FactorRow(
                dimension=dim,
                key=key,
                label=_factor_label(dim, key, dealer),
                submitted=int(submitted),
                decided=int(decided),
                approved=int(approved),
                median_to_decision=_seconds_value(median),
            )
        )
    band_order = {code: n for n, (code, _lower, _label) in enumerate(DOWN_PAYMENT_BANDS)}
    income_order = {code: n for n, code in enumerate(IncomeBand.values)}
    factors["down_payment"].sort(key=lambda r: band_order.get(r.key, len(band_order)))
    factors["income"].sort(key=lambda r: income_order.get(r.key, len(income_order)))
    factors["term"].sort(key=lambda r: (r.key is None, r.key or 0))
    factors["energy"].sort(key=lambda r: r.key != "new_energy")
    factors["dealer"].sort(key=lambda r: r.label.casefold())
    return factors


def _factor_label(dimension: str, key: Any, dealer_name: str | None) -> str:
    if key is None or key == "":
        return str(_("Not recorded"))
    if dimension == "down_payment":
        return str(next(label for code, _lower, label in DOWN_PAYMENT_BANDS if code == key))
    if dimension == "income":
        return str(IncomeBand(key).label)
    if dimension == "term":
        return str(_("%(months)s months") % {"months": key})
    if dimension == "energy":
        return str(ENERGY_LABELS[key])
    return dealer_name or ""


# --- The whole report ---------------------------------------------------------------------------


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
    four queries whatever the size of the book (and one to give them memory). The benchmark calls
    this.

    Outside a transaction, the funnel, the approval factors and the backlog are
    computed on a second connection while this one groups the stays, the longest statement (26 s
    against 12 s for the other three together at a million applications): the figures are then
    there in about the time of the groupings alone. Each statement sees the book as it was when it
    began, as it does one after another.
    """
    date_range = DateRange(start, end)
    now = now or timezone.now()

    def the_rest() -> tuple[list[BacklogRow], Funnel, dict[str, list[FactorRow]]]:
        return backlog(now=now), funnel(date_range), approval_factors(date_range)

    beside = _beside(the_rest)
    with report_memory():
        stays = stay_groups(date_range)
        rows, reached, factors = beside.result() if beside is not None else the_rest()
    return SlaReport(range=date_range, now=now, stays=stays, backlog=rows, funnel=reached, factors=factors)


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


def report_claim(date_range: DateRange) -> bool:
    """True for the one caller that should have the range computed now (in the active language);
    False while a computation is already under way. The claim lapses after
    ``REPORT_COMPUTE_SECONDS`` should its worker die."""
    key = f"{_report_key(date_range)}:computing"
    return cache.add(key, 1, timeout=settings.REPORT_COMPUTE_SECONDS)


def report_release(date_range: DateRange, *, failed: bool = False) -> None:
    """The computation ended. ``failed``: the page says so for ``REPORT_RETRY_SECONDS`` instead
    of asking a worker again on every reload (the error is in the worker's log)."""
    cache.delete(f"{_report_key(date_range)}:computing")
    if failed:
        cache.set(f"{_report_key(date_range)}:failed", 1, timeout=settings.REPORT_RETRY_SECONDS)


def report_failed(date_range: DateRange) -> bool:
    """The last computation of the range (active language) failed a moment ago."""
    return bool(cache.get(f"{_report_key(date_range)}:failed"))


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
