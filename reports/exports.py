"""CSV files of the report's tables: UTF-8 with a byte-order mark (so Excel reads Chinese), headers in
the reader's language, durations in hours and shares in per cent. No personal data: stages, staff
user names, dealers, products, bands and counts only — never a customer, an ID or a phone number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from contextlib import nullcontext
from functools import cached_property
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from applications.choices import MILESTONES

from .selectors import (
    AGE_BUCKETS,
    FACTOR_DIMENSIONS,
    DateRange,
    StayRow,
    approval_factors,
    backlog,
    breaches_by_cause,
    first_response,
    funnel,
    report_memory,
    stay_groups,
)

Table = tuple[list[str], list[list[Any]]]


class FreshFigures:
    """The report's parts for ``date_range``, each computed when a table first asks for it (one
    query each): what a CSV file reads when no computed report is kept. A kept ``SlaReport`` has
    the same attributes and serves the same tables without a query."""

    def __init__(self, date_range: DateRange, now: dt.datetime):
        self.range, self.now = date_range, now

    @cached_property
    def stays(self):
        return stay_groups(self.range)

    @cached_property
    def backlog(self):
        return backlog(now=self.now)

    @cached_property
    def funnel(self):
        return funnel(self.range)

    @cached_property
    def factors(self):
        return approval_factors(self.range)

    @cached_property
    def causes(self):
        return breaches_by_cause(self.range)

    @cached_property
    def first_response(self):
        return first_response(self.range, now=self.now)


def hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


def percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}"


def _stay_headers() -> list[str]:
    return [
        _("Stays ended"),
        _("Median (hours)"),
        _("90th percentile (hours)"),
        _("Stays with a due time"),
        _("Breached"),
        _("Breached (%)"),
    ]


def _stay_values(row: StayRow) -> list[Any]:
    s = row.stats
    return [s.stays, hours(s.median), hours(s.p90), s.with_due, s.breached, percent(s.breach_share)]


def _stays_table(dimension: str) -> Callable[[Any], Table]:
    """A table of stays: by stage (with the total), week, stage and week, or a breakdown."""

    def build(figures) -> Table:
        groups = figures.stays
        if dimension == "stages":
            rows = [[r.stage_label, *_stay_values(r)] for r in groups.stages]
            # Durations of different stages do not mix: the total has counts and the breach share only.
            total = _stay_values(groups.total)
            total[1] = total[2] = ""
            rows.append([_("All stages"), *total])
            return [_("Stage"), *_stay_headers()], rows
        if dimension == "weekly":
            headers = [_("Week"), _("Week starting"), _("Stays ended"), _("Stays with a due time")]
            headers += [_("Breached"), _("Breached (%)")]
            rows = [
                [
                    r.label,
                    r.key.isoformat(),
                    r.stats.stays,
                    r.stats.with_due,
                    r.stats.breached,
                    percent(r.stats.breach_share),
                ]
                for r in groups.week
            ]
            return headers, rows
        if dimension == "stage_week":
            headers = [_("Week"), _("Week starting"), _("Stage"), *_stay_headers()]
            rows = [[r.label, r.key.isoformat(), r.stage_label, *_stay_values(r)] for r in groups.stage_week]
            return headers, rows
        first = {"reviewer": _("Staff member"), "dealer": _("Dealer"), "product": _("Loan product")}
        source = getattr(groups, dimension)
        return [_("Stage"), first[dimension], *_stay_headers()], [
            [r.stage_label, r.label, *_stay_values(r)] for r in source
        ]

    return build


def _backlog_table(figures) -> Table:
    headers = [_("Stage"), _("Open now"), *[str(label) for _c, _u, label in AGE_BUCKETS], _("Overdue")]
    rows = [[r.stage_label, r.total, *r.buckets, r.overdue] for r in figures.backlog]
    return headers, rows


def _funnel_table(figures) -> Table:
    result = figures.funnel

    def share(count: int) -> str:
        return percent(count / result.submitted if result.submitted else None)

    rows = [
        [_("Step %(number)s: %(title)s") % {"number": m.number, "title": m.title}, count, share(count)]
        for m, count in zip(MILESTONES, result.reached, strict=True)
    ]
    rows += [
        [_("Ended: rejected"), result.rejected, share(result.rejected)],
        [_("Ended: withdrawn"), result.withdrawn, share(result.withdrawn)],
        [_("Ended: expired"), result.expired, share(result.expired)],
    ]
    return [_("Applications submitted in the range"), _("Applications"), _("Share (%)")], rows


def factor_titles() -> dict[str, str]:
    return {
        "down_payment": _("Down payment"),
        "income": _("Monthly income"),
        "term": _("Term"),
        "energy": _("Vehicle"),
        "dealer": _("Dealer"),
    }


def _factors_table(figures) -> Table:
    factors = figures.factors
    titles = factor_titles()
    headers = [
        _("Factor"),
        _("Group"),
        _("Applications submitted"),
        _("Decided"),
        _("Approved"),
        _("Approval rate (%)"),
        _("Median time to decision (hours)"),
    ]
    rows = [
        [
            titles[dimension],
            r.label,
            r.submitted,
            r.decided,
            r.approved,
            percent(r.approval_rate),
            hours(r.median_to_decision),
        ]
        for dimension in FACTOR_DIMENSIONS
        for r in factors[dimension]
    ]
    return headers, rows


def _causes_table(figures) -> Table:
    headers = [_("Stage"), _("Cause of delay"), _("Breached"), _("Share of the stage's breaches (%)")]
    rows = [[r.stage_label, r.label, r.breached, percent(r.share)] for r in figures.causes]
    return headers, rows


def _questions_table(figures) -> Table:
    headers = [
        _("Questions asked"),
        _("Answered"),
        _("Median first response (hours)"),
        _("p90 first response (hours)"),
        _("Breached"),
        _("Answered or past due"),
        _("Share breached (%)"),
    ]
    figures_row = figures.first_response
    if figures_row is None:  # a report kept from before questions: nothing to write
        return headers, []
    row = [
        figures_row.asked,
        figures_row.answered,
        hours(figures_row.median_seconds),
        hours(figures_row.p90_seconds),
        figures_row.breached,
        figures_row.decided,
        percent(figures_row.breach_share),
    ]
    return headers, [row]


# name in the URL (?table=…) → builder: from a kept report, no query; from ``FreshFigures``, one.
TABLES: dict[str, Callable[[Any], Table]] = {
    "stages": _stays_table("stages"),
    "reviewers": _stays_table("reviewer"),
    "dealers": _stays_table("dealer"),
    "products": _stays_table("product"),
    "weeks": _stays_table("stage_week"),
    "weekly": _stays_table("weekly"),
    "backlog": _backlog_table,
    "funnel": _funnel_table,
    "factors": _factors_table,
    "causes": _causes_table,
    "questions": _questions_table,
}

# Excel runs a cell that starts with one of these as a formula: such text gets a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_response(name: str, figures) -> HttpResponse:
    """The table ``name`` of ``figures`` (an ``SlaReport``, or ``FreshFigures`` to compute it) as a
    CSV file."""
    date_range = figures.range
    # A kept report needs no query; fresh figures get the report's memory for their one.
    with report_memory() if isinstance(figures, FreshFigures) else nullcontext():
        headers, rows = TABLES[name](figures)
    filename = f"sla-{name}-{date_range.start.isoformat()}-{date_range.end.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_safe(str(h)) for h in headers])
    for row in rows:
        writer.writerow([_safe(str(v)) if not isinstance(v, int | float) else v for v in row])
    return response
