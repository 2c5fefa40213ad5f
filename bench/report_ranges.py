"""The SLA report on any range, measured in-process: the rollups computed afresh over the whole
history (``manage.py reports_backfill``, timed), beat's run on top of them, then the report page for
the last 1, 7, 30, 90 and 365 days on its first request (nothing kept: ``REPORT_CACHE_SECONDS=0``),
each of its parts alone, and the rollups' error against the exact figures from the history
(``percentile_cont``). ``bench/prepare.py`` calls ``rollup_figures``; on its own, against the
bench database (nothing else of ``make bench`` runs):

    DJANGO_SETTINGS_MODULE=loanportal.settings.bench DATABASE_URL=… python -m bench.report_ranges OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.timezone import now as django_now  # noqa: E402

ROLLUP_RANGES = tuple(int(days) for days in os.environ.get("BENCH_ROLLUP_RANGES", "1,7,30,90,365").split(","))
# The exact figures (percentile_cont over the history) the rollups are compared with: minutes on a
# large book for the longest ranges. BENCH_ROLLUP_EXACT=0 leaves the comparison out.
ROLLUP_EXACT = os.environ.get("BENCH_ROLLUP_EXACT", "1") != "0"
# BENCH_ROLLUP_BACKFILL=0: the rollups as they are (beat's run only), not computed afresh.
ROLLUP_BACKFILL = os.environ.get("BENCH_ROLLUP_BACKFILL", "1") != "0"


def _stay_rows(groups) -> dict[tuple, Any]:
    rows = {("stage", r.stage, None): r.stats for r in groups.stages}
    rows[("total", None, None)] = groups.total.stats
    for dim in ("reviewer", "dealer", "product", "stage_week", "week"):
        rows.update({(dim, r.stage, r.key): r.stats for r in getattr(groups, dim)})
    return rows


def _rollup_error(rolled, exact) -> dict[str, Any]:
    """The stays from the rollups against the history's: counts and breaches equal in every
    group, and the largest relative error of a median and of a p90."""
    mine, truth = _stay_rows(rolled), _stay_rows(exact)
    counts_equal = mine.keys() == truth.keys() and all(
        (mine[k].stays, mine[k].with_due, mine[k].breached) == (t.stays, t.with_due, t.breached)
        for k, t in truth.items()
    )
    worst = {"median": 0.0, "p90": 0.0}
    for key, t in truth.items():
        if key not in mine:
            continue
        for name in worst:
            value, true = getattr(mine[key], name), getattr(t, name)
            if value is not None and true:
                worst[name] = max(worst[name], abs(value - true) / abs(true))
    return {
        "groups": len(truth),
        "counts_equal": counts_equal,
        "median_error": worst["median"],
        "p90_error": worst["p90"],
    }


def _factor_error(rolled, exact) -> dict[str, Any]:
    """The approval factors from the cohort rollups against the history's: the same groups with
    the same counts (submitted, decided, approved), and the largest relative error of a median
    time to decision."""
    mine = {(d, r.key): r for d, rows in rolled.items() for r in rows}
    truth = {(d, r.key): r for d, rows in exact.items() for r in rows}
    counts_equal = mine.keys() == truth.keys() and all(
        (mine[k].submitted, mine[k].decided, mine[k].approved) == (t.submitted, t.decided, t.approved)
        for k, t in truth.items()
    )
    worst = 0.0
    for key, t in truth.items():
        value = mine[key].median_to_decision if key in mine else None
        if value is not None and t.median_to_decision:
            worst = max(worst, abs(value - t.median_to_decision) / abs(t.median_to_decision))
    return {"factor_groups": len(truth), "factor_counts_equal": counts_equal, "factor_median_error": worst}


def _timed(action: Callable[[], Any], memory) -> tuple[Any, float]:
    started = time.perf_counter()
    with memory():
        result = action()
    return result, time.perf_counter() - started


def _range_figures(selectors, date_range, memory) -> dict[str, Any]:
    """Each part of the report for ``date_range`` alone, and the rollups' error against the exact
    figures."""
    entry: dict[str, Any] = {}
    rolled, entry["stays_seconds"] = _timed(lambda: selectors.stay_groups(date_range), memory)
    parts: dict[str, float] = {}
    _rows, parts["backlog"] = _timed(selectors.backlog, memory)
    known, parts["cohort_mark"] = _timed(selectors.cohort_mark, memory)
    _funnel, parts["funnel"] = _timed(lambda: selectors.funnel(date_range, known=known), memory)
    _factors, parts["factors"] = _timed(lambda: selectors.approval_factors(date_range, known=known), memory)
    _causes, parts["causes"] = _timed(lambda: selectors.breaches_by_cause(date_range), memory)
    _questions, parts["first_response"] = _timed(
        lambda: selectors.first_response(date_range, now=django_now()), memory
    )
    entry["parts"] = parts
    # The parts beside the stays, one after another on the page's second connection.
    entry["other_seconds"] = sum(parts.values())
    if ROLLUP_EXACT:
        exact, entry["exact_seconds"] = _timed(lambda: selectors.stay_groups_exact(date_range), memory)
        entry.update(_rollup_error(rolled, exact))
        exact_funnel, entry["funnel_exact_seconds"] = _timed(
            lambda: selectors.funnel(date_range, exact=True), memory
        )
        # Read again after the exact figures: files move on meanwhile (another load on the book).
        entry["funnel_equal"] = exact_funnel == selectors.funnel(date_range)
        exact_factors, entry["factors_exact_seconds"] = _timed(
            lambda: selectors.approval_factors(date_range, exact=True), memory
        )
        entry.update(_factor_error(selectors.approval_factors(date_range), exact_factors))
    return entry


def rollup_figures(client: Client, selectors) -> dict[str, Any]:
    """The backfill and beat's run timed, then every range of ``ROLLUP_RANGES``: the page's first
    request (``client``: a signed-in manager), each part of the report alone (stays, backlog,
    the cohorts' mark, funnel, approval factors, breaches by cause, first response) and, with
    ``ROLLUP_EXACT``, the exact figures and the rollups' error against them."""
    figures: dict[str, Any] = {}
    if not hasattr(selectors, "rollup_backfill"):
        return figures
    if ROLLUP_BACKFILL:
        started = time.perf_counter()
        call_command("reports_backfill", stdout=sys.stderr)
        figures["backfill_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    selectors.rollup_refresh()
    figures["refresh_seconds"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT day) FROM reports_stayrollup WHERE period = 'day'")
        figures["backfill_rows"], figures["backfill_days"] = cursor.fetchone()
        cursor.execute(
            "SELECT (SELECT count(*) FROM reports_funnelrollup),"
            " (SELECT count(*) FROM reports_factorrollup WHERE period = 'day')"
        )
        figures["cohort_days"], figures["factor_rows"] = cursor.fetchone()
        for table in ("reports_stayrollup", "reports_funnelrollup", "reports_factorrollup"):
            cursor.execute(f"ANALYZE {table}")
    print(f"rollups: {figures}", file=sys.stderr, flush=True)
    url = reverse("reports:sla")
    ranges = []
    with override_settings(REPORT_CACHE_SECONDS=0):
        for days in ROLLUP_RANGES:
            date_range = selectors.default_range(days=days)
            query = {"start": date_range.start.isoformat(), "end": date_range.end.isoformat()}
            started = time.perf_counter()
            status = client.get(url, query).status_code
            page = time.perf_counter() - started
            ranges.append({"days": days, "status": status, "page_seconds": page})
    memory = getattr(selectors, "report_memory", transaction.atomic)
    for entry in ranges:
        entry.update(_range_figures(selectors, selectors.default_range(days=entry["days"]), memory))
        print(f"report, {entry['days']} days: {entry}", file=sys.stderr, flush=True)
    figures["ranges"] = ranges
    return figures


def main(out: str) -> None:
    from accounts.roles import Role

    from .prepare import sign_in, staff_user

    selectors = __import__("reports.selectors", fromlist=["sla_report"])
    client = Client()
    sign_in(client, staff_user("demo_manager", Role.MANAGER))
    figures = rollup_figures(client, selectors)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(figures, handle, indent=2, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
