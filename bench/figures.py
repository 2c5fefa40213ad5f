"""The figures of ``make bench`` as table rows: the table itself, its formats, and the rows of the
SLA sweep (``manage.py bench_sweep``'s output) and the SLA report (``bench/prepare.py``'s)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from .config import manage, say
from .load import Load


@dataclass
class Row:
    measure: str
    figure: str
    baseline: str = "—"
    ratio: float | None = None
    target: str = "—"
    passed: bool | None = None
    queries: str = "—"  # a page's queries: every cache empty / repeat view

    def cells(self) -> list[str]:
        # Two decimals, or three significant digits for a small ratio (a page against the bare view).
        ratio = (
            "—" if self.ratio is None else f"{self.ratio:.2f}" if self.ratio >= 0.1 else f"{self.ratio:.3g}"
        )
        verdict = {True: "pass", False: "FAIL", None: "—"}[self.passed]
        return [self.measure, self.figure, self.baseline, ratio, self.target, verdict, self.queries]


def table(rows: list[Row]) -> str:
    header = ["measure", "figure", "baseline", "ratio", "target", "pass/fail", "queries (cold / repeat)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def per_second(load: Load) -> str:
    suffix = f", {load.errors} errors" if load.errors else ""
    return f"{load.rate:,.1f} req/s{suffix}"


def cpu_text(load: Load) -> str:
    if not load.cpu:
        return "—"
    return " / ".join(f"{load.cpu[part]:,.0f}" for part in ("web", "postgres", "machine")) + " µs"


def seconds_text(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


# --- The SLA sweep and report -------------------------------------------------------------------


SWEEP_COUNT = re.compile(r"SELECT count\(\*\), same condition: ([\d,]+) rows in ([\d,.]+) ms")
SWEEP_PASS = re.compile(r"SLA sweep, ([\w ]+?) pass: ([\d,.]+) ms \(([\d.]+)× the count\) (\{.*\})")
SWEEP_BACKLOG = re.compile(
    r"SLA sweep, whole backlog: ([\d,.]+) ms in (\d+) passes of at most ([\d,]+) \(([\d.]+)× the count\) (\{.*\})"
)


def sweep_rows() -> list[Row]:
    """``manage.py bench_sweep`` (in a transaction it rolls back): each pass against the count."""
    say("SLA sweep: manage.py bench_sweep")
    try:
        output = manage("bench_sweep", capture=True)
    except subprocess.CalledProcessError as error:
        return [Row("SLA sweep vs SELECT count(*)", f"not available (bench_sweep exited {error.returncode})")]
    count = SWEEP_COUNT.search(output)
    passes = SWEEP_PASS.findall(output)
    if not count or not passes:
        return [Row("SLA sweep vs SELECT count(*)", "not available (bench_sweep's output not recognised)")]
    rows_changing, count_ms = count.group(1), float(count.group(2).replace(",", ""))
    rows = []
    for label, ms, ratio, result in passes:
        changed = json.loads(result.replace("'", '"'))
        ratio_value = float(ms.replace(",", "")) / count_ms if count_ms else None
        rows.append(
            Row(
                f"SLA sweep, {label} pass ({changed.get('notifications', 0):,} notifications) vs count(*)",
                f"{float(ms.replace(',', '')):,.1f} ms",
                f"{count_ms:,.1f} ms ({rows_changing} rows)",
                ratio_value if ratio_value is not None else float(ratio),
                "≤ 10×",
                ratio_value is not None and ratio_value <= 10,
            )
        )
    backlog = SWEEP_BACKLOG.search(output)
    if backlog:
        ms, passes, batch, _ratio, result = backlog.groups()
        total = json.loads(result.replace("'", '"'))
        seconds = float(ms.replace(",", "")) / 1000
        rows.append(
            Row(
                f"SLA sweep, whole backlog: {passes} passes of at most {batch} stages"
                f" ({total.get('notifications', 0):,} notifications), one after another",
                f"{seconds:,.1f} s",
                f"{count_ms:,.1f} ms ({rows_changing} rows)",
                float(ms.replace(",", "")) / count_ms if count_ms else None,
            )
        )
    return rows


PART_NAMES = {
    "backlog": "backlog",
    "cohort_mark": "cohorts' mark",
    "funnel": "funnel",
    "factors": "approval factors",
    "causes": "breaches by cause",
    "first_response": "first response",
}


def _parts_text(entry: dict[str, Any]) -> str:
    """Each part's time, the stays first (on the page's first connection; the rest one after
    another on its second)."""
    parts = entry.get("parts") or {}
    text = f"stays {seconds_text(entry['stays_seconds'])}"
    if parts:
        text += "; beside them " + ", ".join(
            f"{PART_NAMES.get(name, name)} {seconds_text(value)}" for name, value in parts.items()
        )
    return text


def _error_text(entry: dict[str, Any]) -> str:
    if "median_error" not in entry:
        return ""
    text = (
        f"; vs the history (`percentile_cont`): stays over {entry['groups']} groups median"
        f" ≤ {entry['median_error']:.2%}, p90 ≤ {entry['p90_error']:.2%}, counts and breaches"
        f" {'equal' if entry['counts_equal'] else 'DIFFERENT'}"
    )
    if "factor_median_error" in entry:
        text += (
            f"; funnel {'equal' if entry['funnel_equal'] else 'DIFFERENT'}; approval factors over"
            f" {entry['factor_groups']} groups median ≤ {entry['factor_median_error']:.2%}, counts"
            f" {'equal' if entry['factor_counts_equal'] else 'DIFFERENT'}"
        )
    return text


def rollup_rows(rollups: dict[str, Any]) -> list[Row]:
    """The backfill of the report's rollups, beat's run, and each range's first request with each
    part's time and the rollups' error against the exact figures from the history."""
    if not rollups:
        return []
    if "ranges" not in rollups:
        return [Row("SLA report rollups", f"not measured: {rollups.get('why', '')}")]
    rows = []
    if "backfill_seconds" in rollups:
        rows.append(
            Row(
                f"SLA report: rollups backfilled over the whole history (`reports_backfill`: stays"
                f" {rollups['backfill_days']:,} days, {rollups['backfill_rows']:,} day rows; cohorts"
                f" {rollups.get('cohort_days', 0):,} submission days, {rollups.get('factor_rows', 0):,}"
                f" factor rows)",
                seconds_text(rollups["backfill_seconds"]),
            )
        )
    if "refresh_seconds" in rollups:
        rows.append(
            Row(
                "SLA report: beat's rollup run right after (`rollup_refresh`)",
                seconds_text(rollups["refresh_seconds"]),
            )
        )
    for entry in rollups["ranges"]:
        if "exact_seconds" in entry:
            exact = (
                entry["exact_seconds"]
                + entry.get("funnel_exact_seconds", 0)
                + entry.get("factors_exact_seconds", 0)
            )
            baseline = f"{seconds_text(exact)} (stays, funnel and factors exact, from the history)"
            ratio = entry["page_seconds"] / exact if exact else None
        else:
            baseline, ratio = "—", None
        ok = (
            entry["status"] == 200
            and entry["page_seconds"] < 1
            and entry.get("median_error", 0) < 0.01
            and entry.get("p90_error", 0) < 0.01
            and entry.get("counts_equal", True)
            and entry.get("factor_median_error", 0) < 0.01
            and entry.get("factor_counts_equal", True)
            and entry.get("funnel_equal", True)
        )
        rows.append(
            Row(
                f"SLA report, last {entry['days']} day(s): page's first request (in-process, nothing kept);"
                f" each part alone, from the rollups: {_parts_text(entry)}{_error_text(entry)}",
                seconds_text(entry["page_seconds"]),
                baseline,
                ratio,
                "< 1 s, error < 1 %",
                ok,
            )
        )
    return rows


def report_rows(report: dict[str, Any]) -> list[Row]:
    if not report.get("available"):
        return [Row("SLA report, 90 days", f"not available: {report.get('why', 'no reports app')}")]
    rows = rollup_rows(report.get("rollups") or {})
    if "page_seconds" in report and "page_sql_seconds" in report:
        ratio = report["page_seconds"] / report["page_sql_seconds"]
        rows.append(
            Row(
                f"SLA report, 90 days: page (in-process, {report['page_queries']} queries on "
                f"{report.get('page_connections', 1)} connection(s)) vs its SQL run raw the same way",
                seconds_text(report["page_seconds"]),
                f"{seconds_text(report['page_sql_seconds'])} ({report['page_sql_statements']} statements)",
                ratio,
                "≤ 3×",
                ratio <= 3,
            )
        )
    if "selector_seconds" in report and "stage_summary_seconds" in report:
        ratio = report["selector_seconds"] / report["stage_summary_seconds"]
        rows.append(
            Row(
                "SLA report, 90 days: `sla_report()` vs the raw per-stage GROUP BY (`stage_summary_sql`)",
                seconds_text(report["selector_seconds"]),
                seconds_text(report["stage_summary_seconds"]),
                ratio,
                "≤ 3×",
                ratio <= 3,
            )
        )
    if "refresh_seconds" in report and "cached_page_seconds" in report:
        rows.append(
            Row(
                "SLA report, 90 days: beat's refresh, both languages (`report_refresh`)",
                seconds_text(report["refresh_seconds"]),
            )
        )
        rows.append(
            Row(
                "SLA report, 90 days: the page as beat leaves it (figures cached), in-process",
                seconds_text(report["cached_page_seconds"]),
                seconds_text(report["page_seconds"]) if "page_seconds" in report else "—",
                report["cached_page_seconds"] / report["page_seconds"]
                if report.get("page_seconds")
                else None,
            )
        )
    return rows
