"""Stays: how long files stayed in each stage, by stage, reviewer, dealer, product and week, with
median, p90 and breach share (one query, ``stay_groups``), and the raw per-stage ``GROUP BY`` the
benchmark compares it with (``stage_summary_sql``). A stay and its breach are defined in the
package's docstring."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection as default_connection
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from applications.choices import EventKind, Stage

from . import rollups
from .base import (
    REPORT_STAGES,
    DateRange,
    percentiles_sql,
    placeholders,
    seconds_between,
    seconds_value,
    tables,
)
from .histograms import interpolated, rank_picks_sql

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The groupings of stays, in the order the report shows them.
STAY_DIMENSIONS = ("stage", "reviewer", "dealer", "product", "stage_week", "week", "total")
# The group of stays ended by someone who is not staff: their names are never shown.
NOT_STAFF_LABEL = _("Customer, dealer or system")


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
    def stage_label(self) -> StrOrPromise:
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


# --- The SQL ------------------------------------------------------------------------------------


def _week_start(column: str, params: list[Any]) -> str:
    """SQL for the Monday (a date) of the ISO week ``column`` falls in, in the project's zone."""
    params.append(str(timezone.get_default_timezone()))
    return f"CAST(date_trunc('week', {column} AT TIME ZONE %s) AS date)"


def _stays_cte(start_at: dt.datetime, end_at: dt.datetime, params: list[Any]) -> str:
    """``stays``: one row per stay that ended in ``[start_at, end_at)`` (see the package's docstring).

    A stay is its leaving transition, which records when the stay began and was due
    (``StageEvent.stay_started_at``, ``stay_due_at``): the rows come from the ``event_stay_idx``
    index alone (an index-only scan), with the application's dealer and product and the
    actor's staff flag joined on. The event kind is written in, not bound: the planner uses the
    partial index only when it can see its condition."""
    t = tables()
    week = _week_start("e.created_at", params)
    seconds = seconds_between("e.created_at", "e.stay_started_at")
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
        f" WHERE e.kind = '{transition}' AND e.from_stage IN ({placeholders(REPORT_STAGES)})"
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
    t = tables()
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


# --- From the rollups ---------------------------------------------------------------------------

# Each grouping of the report: (dim, the rollup rows' dimension, the columns it groups by).
_ROLLUP_GROUPINGS = (
    ("stage", "stage", ("stage",)),
    ("stage_week", "stage", ("stage", "week")),
    ("week", "stage", ("week",)),
    ("total", "stage", ()),
    ("reviewer", "staff", ("stage", "key")),
    ("dealer", "dealer", ("stage", "key")),
    ("product", "product", ("stage", "key")),
)


def _per_grouping(source: str, columns: str, extra: tuple[str, ...] = ()) -> str:
    """``source`` grouped as each of the report's groupings, UNION ALL: dim, stage, key_id, week,
    then ``columns`` (aggregates), grouped by the grouping's columns and ``extra``."""
    parts = []
    for dim, dimension, keys in _ROLLUP_GROUPINGS:
        selected = [
            f"{column if column in keys else f'CAST(NULL AS {kind})'} AS {name}"
            for column, kind, name in (
                ("stage", "varchar", "stage"),
                ("key", "bigint", "key_id"),
                ("week", "date", "week"),
            )
        ]
        group = ", ".join((*keys, *extra))
        parts.append(
            f"SELECT '{dim}' AS dim, {', '.join(selected)}, {columns} FROM {source}"
            f" WHERE dimension = '{dimension}'" + (f" GROUP BY {group}" if group else "")
        )
    return " UNION ALL ".join(parts)


def rollup_groups_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """``stay_groups_sql``'s columns from the rollups (``rollups.rows_cte``): the counts added up,
    the histograms merged (``unnest``, one sum per bucket) and each percentile read as
    ``percentile_cont`` reads it, at the rollups' bucket middles: the value at rank ⌊p·(n − 1)⌋
    and at the next rank (the first bucket whose running count passes each), interpolated.

    The stage rows' histograms are merged once, by stage and week; the stage, week and total
    histograms are added up from those. The query returns the two buckets of each percentile;
    ``_merged_rows`` reads their middles and interpolates."""
    params: list[Any] = []
    rows = rollups.rows_cte(date_range, params)
    week = "CAST(date_trunc('week', CAST(day AS timestamp)) AS date)"
    counts = _per_grouping(
        "rows_w",
        "COALESCE(SUM(stays), 0) AS stays, COALESCE(SUM(with_due), 0) AS with_due,"
        " COALESCE(SUM(breached), 0) AS breached",
    )
    partition = "PARTITION BY dim, stage, key_id, week"
    unnested = "rollup_rows r CROSS JOIN LATERAL unnest(r.buckets, r.counts) AS u(bucket, n)"
    t = tables()
    sql = (
        f"WITH {rows},"
        f" rows_w AS (SELECT dimension, stage, key, {week} AS week, stays, with_due, breached FROM rollup_rows),"
        f" cnt AS ({counts}),"
        f" sw AS MATERIALIZED (SELECT r.stage, {week} AS week, u.bucket, SUM(u.n) AS n FROM {unnested}"
        f"  WHERE r.dimension = 'stage' GROUP BY r.stage, week, u.bucket),"
        f" hist AS ("
        f"  SELECT 'stage_week' AS dim, stage, CAST(NULL AS bigint) AS key_id, week, bucket, n FROM sw"
        f"  UNION ALL SELECT 'stage', stage, NULL, NULL, bucket, SUM(n) FROM sw GROUP BY stage, bucket"
        f"  UNION ALL SELECT 'week', NULL, NULL, week, bucket, SUM(n) FROM sw GROUP BY week, bucket"
        f"  UNION ALL SELECT 'total', NULL, NULL, NULL, bucket, SUM(n) FROM sw GROUP BY bucket"
        f"  UNION ALL SELECT CASE r.dimension WHEN 'staff' THEN 'reviewer' ELSE r.dimension END, r.stage,"
        f"   r.key, NULL, u.bucket, SUM(u.n) FROM {unnested}"
        f"   WHERE r.dimension IN ('staff', 'dealer', 'product') GROUP BY r.dimension, r.stage, r.key, u.bucket),"
        f" cum AS (SELECT dim, stage, key_id, week, bucket,"
        f"  SUM(n) OVER ({partition} ORDER BY bucket) AS upto, SUM(n) OVER ({partition}) AS total FROM hist),"
        f" q AS (SELECT dim, stage, key_id, week, MIN(total) AS total, {rank_picks_sql((0.5, 0.9))}"
        f"  FROM cum GROUP BY dim, stage, key_id, week),"
        f" g AS (SELECT c.dim, c.stage, c.key_id, c.week, c.stays, c.with_due, c.breached,"
        f"  q.total, q.pct_50_lo, q.pct_50_hi, q.pct_90_lo, q.pct_90_hi FROM cnt c"
        f"  LEFT JOIN q ON q.dim = c.dim AND q.stage IS NOT DISTINCT FROM c.stage"
        f"   AND q.key_id IS NOT DISTINCT FROM c.key_id AND q.week IS NOT DISTINCT FROM c.week)"
        f" SELECT g.dim, g.stage, g.key_id, g.week, g.stays, g.with_due, g.breached,"
        f"  g.total, g.pct_50_lo, g.pct_50_hi, g.pct_90_lo, g.pct_90_hi,"
        f"  u.username, d.name, pr.name_zh_hans, pr.name_en"
        f" FROM g"
        f" LEFT JOIN {t['user']} u ON g.dim = 'reviewer' AND u.id = g.key_id"
        f" LEFT JOIN {t['dealer']} d ON g.dim = 'dealer' AND d.id = g.key_id"
        f" LEFT JOIN {t['product']} pr ON g.dim = 'product' AND pr.id = g.key_id"
    )
    return sql, params


def _merged_rows(rows: list[tuple]) -> list[tuple]:
    """``rollup_groups_sql``'s rows in ``stay_groups_sql``'s columns."""
    return [
        (
            dim,
            stage,
            key_id,
            week,
            stays,
            with_due,
            breached,
            interpolated(0.5, total, p50_lo, p50_hi),
            interpolated(0.9, total, p90_lo, p90_hi),
            *labels,
        )
        for dim, stage, key_id, week, stays, with_due, breached, total, p50_lo, p50_hi, p90_lo, p90_hi, *labels in rows
    ]


def stage_summary_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """The raw ``GROUP BY`` the per-stage table wraps: the stays of the range, grouped by stage, with
    count, breach counts, median and p90. For the benchmark ("the report vs the SQL it wraps")."""
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    stays = _stays_cte(start_at, end_at, params)
    grouped = percentiles_sql("stays", ("stage",), "seconds", extra=_STAY_AGGREGATES)
    return f"WITH {stays} {grouped}", params


# --- The groupings ------------------------------------------------------------------------------


def _localized(zh: str | None, en: str | None) -> str:
    if (get_language() or "").startswith("en"):
        return en or zh or ""
    return zh or en or ""


def stay_groups(date_range: DateRange) -> StayGroups:
    """Every grouping of the stays that ended in the range (1 query), from the daily rollups for
    the rolled-up days and the history for the rest (``rollups``): counts and breaches exact,
    median and p90 within 1 % of ``percentile_cont``. The weekly rows cover every week the range
    touches (the first and last may be partial), empty weeks too."""
    sql, params = rollup_groups_sql(date_range)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _stay_groups_from(date_range, _merged_rows(rows))


def stay_groups_exact(date_range: DateRange) -> StayGroups:
    """``stay_groups`` from the history alone, the percentiles exact (``percentile_cont``): what
    the rollups are checked against (tests, benchmark). Tens of seconds on a large book."""
    sql, params = stay_groups_sql(date_range)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _stay_groups_from(date_range, rows)


def _stay_groups_from(date_range: DateRange, rows: list[tuple]) -> StayGroups:
    groups = StayGroups()
    by_stage: dict[str, StayRow] = {}
    order: dict[str | None, int] = {stage: number for number, stage in enumerate(REPORT_STAGES)}
    for dim, stage, key_id, week, stays, with_due, breached, median, p90, username, dealer, zh, en in rows:
        stats = StayStats(
            stays=int(stays),
            median=seconds_value(median),
            p90=seconds_value(p90),
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
