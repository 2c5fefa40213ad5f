"""Approval factors: for the applications submitted in a range, the approval rate and the median
time to decision by down payment, income, term, powertrain and dealer (one query)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from django.db import connection as default_connection
from django.utils.translation import gettext_lazy as _

from applications.choices import NEW_ENERGY_POWERTRAINS, EventKind, IncomeBand, Stage

from .base import DateRange, percentiles_sql, placeholders, seconds_between, seconds_value, tables

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


def approval_factors_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    t = tables()
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    energy = f"CASE WHEN a.powertrain IN ({placeholders(NEW_ENERGY_POWERTRAINS)}) THEN 'new_energy' ELSE 'fuel' END"
    params.extend(sorted(p.value for p in NEW_ENERGY_POWERTRAINS))
    # Compared without division: down payment · 100 against the bound · price, both exact.
    band_whens = " ".join(
        f"WHEN a.down_payment * 100 < a.vehicle_price * {upper} THEN '{code}'"
        for (code, _lower, _label), (_next, upper, _next_label) in pairwise(DOWN_PAYMENT_BANDS)
    )
    down_band = f"CASE WHEN a.down_payment IS NULL OR a.vehicle_price IS NULL THEN NULL {band_whens} ELSE '{DOWN_PAYMENT_BANDS[-1][0]}' END"
    approved = "CASE WHEN d.to_stage = %s THEN 1 WHEN d.to_stage = %s THEN 0 END"
    params.extend([Stage.OFFER_PENDING.value, Stage.REJECTED.value])
    seconds = seconds_between("d.created_at", "a.submitted_at")
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


def approval_factors(date_range: DateRange) -> dict[str, list[FactorRow]]:
    """Approval rate and median time to decision by each factor, for the applications submitted in
    the range (1 query). Keys of ``FACTOR_DIMENSIONS``; labels in the active language, the
    dealer's its name."""
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
