"""Approval factors: for the applications submitted in a range, the approval rate and the median
time to decision by down payment, income, term, powertrain and dealer (one query), from the
cohort rollups of the range's days and the history for the files submitted after their mark
(``cohorts``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from django.db import connection as default_connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.choices import NEW_ENERGY_POWERTRAINS, EventKind, IncomeBand, Stage

from . import cohorts
from .base import DateRange, percentiles_sql, placeholders, seconds_between, seconds_value, tables
from .histograms import bucket_sql, interpolated, octave_sql, rank_picks_sql

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
ENERGY_LABELS = {"new_energy": _("New-energy (BEV, PHEV)"), "fuel": _("Fuel or hybrid")}


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


_FACTOR_DIMENSION_COLUMNS = {
    # dimension: (key_text, key_id)
    "down_payment": ("down_band", "NULL"),
    "income": ("income_band", "NULL"),
    "term": ("NULL", "term_months"),
    "energy": ("energy", "NULL"),
    "dealer": ("NULL", "dealer_id"),
}
# The rollup's columns (``models.FactorRollup``), as ``factor_select`` computes them.
FACTOR_COLUMNS = "day, dimension, key_text, key_id, octave, submitted, decided, approved, buckets, counts"


def _decided_cte(
    lower: str, upper: str, bounds: list[Any], params: list[Any], *, after: dt.datetime | None = None
) -> str:
    """``decided``: one row per application submitted in ``[lower, upper)`` (SQL expressions
    whose parameters are ``bounds``): its submission day (Shanghai), the factors' keys, whether it
    was approved (1), rejected (0) or not decided yet (NULL), and the seconds from submission to
    the decision."""
    t = tables()
    params.append(str(timezone.get_default_timezone()))
    energy = f"CASE WHEN a.powertrain IN ({placeholders(NEW_ENERGY_POWERTRAINS)}) THEN 'new_energy' ELSE 'fuel' END"
    params.extend(sorted(p.value for p in NEW_ENERGY_POWERTRAINS))
    # Compared without division: down payment · 100 against the bound · price, both exact.
    band_whens = " ".join(
        f"WHEN a.down_payment * 100 < a.vehicle_price * {upper_bound} THEN '{code}'"
        for (code, _lower, _label), (_next, upper_bound, _next_label) in pairwise(DOWN_PAYMENT_BANDS)
    )
    down_band = f"CASE WHEN a.down_payment IS NULL OR a.vehicle_price IS NULL THEN NULL {band_whens} ELSE '{DOWN_PAYMENT_BANDS[-1][0]}' END"
    approved = "CASE WHEN d.to_stage = %s THEN 1 WHEN d.to_stage = %s THEN 0 END"
    params.extend([Stage.OFFER_PENDING.value, Stage.REJECTED.value])
    seconds = seconds_between("d.created_at", "a.submitted_at")
    params.extend([EventKind.TRANSITION.value, Stage.OFFER_PENDING.value, Stage.REJECTED.value])
    params.extend(bounds)
    known = ""
    if after is not None:
        known = " AND a.submitted_at >= %s"
        params.append(after)
    return (
        f"decided AS ("
        f" SELECT CAST(a.submitted_at AT TIME ZONE %s AS date) AS day,"
        f"  a.dealer_id, a.term_months, {energy} AS energy, {down_band} AS down_band,"
        f"  COALESCE(ap.income_band, '') AS income_band, {approved} AS approved, {seconds} AS seconds"
        f" FROM {t['app']} a"
        f" LEFT JOIN {t['applicant']} ap ON ap.application_id = a.id"
        f" LEFT JOIN {t['event']} d ON d.application_id = a.id AND d.kind = %s AND d.to_stage IN (%s, %s)"
        f" WHERE a.submitted_at >= {lower} AND a.submitted_at < {upper}{known}"
        f")"
    )


def approval_factors_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """The exact figures, from the history alone: the median by ``percentile_cont``."""
    t = tables()
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    decided = _decided_cte("%s", "%s", [start_at, end_at], params)
    branches = []
    for dimension in FACTOR_DIMENSIONS:
        key_text, key_id = _FACTOR_DIMENSION_COLUMNS[dimension]
        branches.append(
            f"SELECT '{dimension}' AS dim, CAST({key_text} AS VARCHAR(20)) AS key_text,"
            f" CAST({key_id} AS BIGINT) AS key_id, approved, seconds FROM decided"
        )
    grouped = percentiles_sql(
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


# The columns the factors group by, in ``GROUPING(…)``'s order (the first its highest bit).
_KEY_COLUMNS = ("down_band", "income_band", "term_months", "energy", "dealer_id")
# One text a group (dimension and key, NULLs told apart from any value), for the rollups' joins.
_GROUP_KEY = (
    "dimension || '/' || COALESCE('t' || key_text, 'n') || '/' || COALESCE('i' || CAST(key_id AS text), 'n')"
)


def factor_select(
    lower: str, upper: str, bounds: list[Any], params: list[Any], *, after: dt.datetime | None = None
) -> str:
    """A SELECT of ``FACTOR_COLUMNS``: the rollup rows of the files submitted in ``[lower,
    upper)``, per submission day, grouping and key (``GROUPING SETS``, one pass): a totals row
    (``octave`` NULL: submitted, decided, approved), and for each octave of the times to decision
    a row with its decided files and their histogram (``histograms.octave_sql``)."""
    decided = _decided_cte(lower, upper, bounds, params, after=after)
    sets: list[str] = []
    dimension_whens: list[str] = []
    text_whens: list[str] = []
    id_whens: list[str] = []
    for dimension in FACTOR_DIMENSIONS:
        key_text, key_id = _FACTOR_DIMENSION_COLUMNS[dimension]
        column = key_id if key_text == "NULL" else key_text
        mask = sum(1 << (len(_KEY_COLUMNS) - 1 - n) for n, c in enumerate(_KEY_COLUMNS) if c != column)
        sets.append(f"(day, {column}, bucket)")
        dimension_whens.append(f"WHEN {mask} THEN '{dimension}'")
        (text_whens if key_id == "NULL" else id_whens).append(f"WHEN {mask} THEN {column}")
    keys = (
        f"day, CAST(CASE g {' '.join(dimension_whens)} END AS varchar(20)) AS dimension,"
        f" CAST(CASE g {' '.join(text_whens)} END AS varchar(20)) AS key_text,"
        f" CAST(CASE g {' '.join(id_whens)} END AS bigint) AS key_id"
    )
    group = f"day, g, {', '.join(_KEY_COLUMNS)}"
    return (
        f"WITH {decided},"
        f" hist AS MATERIALIZED (SELECT day, GROUPING({', '.join(_KEY_COLUMNS)}) AS g, {', '.join(_KEY_COLUMNS)},"
        f"  bucket, COUNT(*) AS n, COUNT(approved) AS decided, COALESCE(SUM(approved), 0) AS approved"
        f"  FROM (SELECT *, {bucket_sql('seconds')} AS bucket FROM decided) timed"
        f"  GROUP BY GROUPING SETS ({', '.join(sets)}))"
        f" SELECT {keys}, CAST(NULL AS integer) AS octave, CAST(SUM(n) AS integer) AS submitted,"
        f"  CAST(SUM(decided) AS integer) AS decided, CAST(SUM(approved) AS integer) AS approved,"
        f"  CAST('{{}}' AS integer[]) AS buckets, CAST('{{}}' AS integer[]) AS counts"
        f" FROM hist GROUP BY {group}"
        f" UNION ALL"
        f" SELECT {keys}, {octave_sql('bucket')}, 0, CAST(SUM(n) AS integer), 0,"
        f"  array_agg(bucket ORDER BY bucket), array_agg(CAST(n AS integer) ORDER BY bucket)"
        f" FROM hist WHERE bucket IS NOT NULL GROUP BY {group}, {octave_sql('bucket')}"
    )


def rollup_factors_sql(date_range: DateRange, *, known: cohorts.CohortMark) -> tuple[str, list[Any]]:
    """``approval_factors_sql``'s columns from the cohort rollups of the range's days (whole weeks
    from week rows) and the history after their mark (``cohorts.range_rows_cte``): the counts
    added up from the totals rows; the median found in two steps, as ``percentile_cont`` reads
    it at the two ranks around p·(n − 1): the octave holding each rank from the octave rows'
    counts (no histogram read), then the bucket inside it from those octaves' histograms alone
    (``unnest``, one sum per bucket, a running count from the octaves below). A year reads a few
    dozen buckets per row instead of every bucket. Columns: dim, key_text, key_id, submitted,
    decided, approved, total, pct_50_lo, pct_50_hi (the caller interpolates), the dealer's name."""
    params: list[Any] = []
    rows = cohorts.range_rows_cte(
        "factor_rows",
        cohorts.factor_table(),
        f"{FACTOR_COLUMNS}, {_GROUP_KEY} AS grp",
        factor_select,
        date_range,
        params,
        known=known,
        weeks=True,
    )
    keys = "dimension, key_text, key_id"
    low, high = "floor(0.5 * (total - 1))", "ceil(0.5 * (total - 1))"
    sql = (
        f"WITH {rows},"
        f" cnt AS (SELECT grp, {keys}, SUM(submitted) AS submitted, SUM(decided) AS decided,"
        f"  SUM(approved) AS approved FROM factor_rows WHERE octave IS NULL GROUP BY grp, {keys}),"
        f" oct AS (SELECT grp, octave, SUM(decided) AS n FROM factor_rows WHERE octave IS NOT NULL"
        f"  GROUP BY grp, octave),"
        f" ocum AS (SELECT grp, octave, n, SUM(n) OVER (PARTITION BY grp ORDER BY octave) AS upto,"
        f"  SUM(n) OVER (PARTITION BY grp) AS total FROM oct),"
        # The octaves holding rank ⌊p·(n − 1)⌋ or ⌈p·(n − 1)⌉ (0-based), with the count below each.
        f" picked AS (SELECT grp, octave, upto - n AS below, total FROM ocum"
        f"  WHERE upto > {low} AND upto - n <= {high}),"
        f" fine AS (SELECT p.grp, p.octave, MIN(p.below) AS below, MIN(p.total) AS total, u.bucket,"
        f"  SUM(u.n) AS n FROM picked p JOIN factor_rows r ON r.grp = p.grp AND r.octave = p.octave"
        f"  CROSS JOIN LATERAL unnest(r.buckets, r.counts) AS u(bucket, n) GROUP BY p.grp, p.octave, u.bucket),"
        f" cum AS (SELECT grp, bucket, total,"
        f"  below + SUM(n) OVER (PARTITION BY grp, octave ORDER BY bucket) AS upto FROM fine),"
        f" q AS (SELECT grp, MIN(total) AS total, {rank_picks_sql((0.5,))} FROM cum GROUP BY grp)"
        f" SELECT c.dimension, c.key_text, c.key_id, c.submitted, c.decided, c.approved,"
        f"  q.total, q.pct_50_lo, q.pct_50_hi, dl.name"
        f" FROM cnt c LEFT JOIN q ON q.grp = c.grp"
        f" LEFT JOIN {tables()['dealer']} dl ON c.dimension = 'dealer' AND dl.id = c.key_id"
    )
    return sql, params


def approval_factors(
    date_range: DateRange, *, exact: bool = False, known: cohorts.CohortMark | None = None
) -> dict[str, list[FactorRow]]:
    """Approval rate and median time to decision by each factor, for the applications submitted in
    the range (1 query, and 1 for the rollups' mark unless ``known`` gives it): counts exact,
    the median within 1 % of ``percentile_cont``. ``exact``: from the history alone, the median
    ``percentile_cont``'s (what the rollups are checked against). Keys of ``FACTOR_DIMENSIONS``;
    labels in the active language, the dealer's its name."""
    if exact:
        sql, params = approval_factors_sql(date_range)
    else:
        sql, params = rollup_factors_sql(
            date_range, known=known if known is not None else cohorts.cohort_mark()
        )
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not exact:
        rows = [
            (dim, key_text, key_id, submitted, decided, approved, interpolated(0.5, total, low, high), dealer)
            for dim, key_text, key_id, submitted, decided, approved, total, low, high, dealer in rows
        ]
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
                median_to_decision=seconds_value(median),
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
