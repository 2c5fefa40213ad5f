"""What users saw during each fault of ``make faults``, read from the load's per-request record.

The record (``LOAD_RECORD``, written by the load) has one JSON object a line per request: when it
started, how long it took, what it was, its HTTP status (0: no answer, the connection refused or
reset). A fault is a window of time, and a request counts in the window where its answer came; each
fault is compared with the baseline minute before the first fault: the requests, their 5xx and
unanswered ones during the fault and in the minute after it, and the transitions' median and p95
against the baseline's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# A transition may take at most this many times the baseline's median while Redis is away.
SLOWER_AT_MOST = 2.0


@dataclass(frozen=True)
class Request:
    t: float  # when it was sent (Unix time, seconds)
    ms: float  # how long the answer took
    name: str  # the page or action, as the load names it
    status: int  # HTTP status; 0 when no answer came
    transition: bool  # a staff or customer action that moves a file to another stage


# The requests that move a file to another stage (the locustfile's names): staff's transitions
# through the back office's POST view, and the customer's submission and acceptance of an offer.
STAFF_TRANSITIONS = (
    "recommend_approval",
    "request_documents",
    "resume_review",
    "reject_in_review",
    "approve",
    "return_to_review",
    "decline",
    "sign_contract",
    "register_lien",
    "disburse",
)
TIMELINE = "customer: timeline"
TRANSITION_NAMES = frozenset(
    {f"staff: {name}" for name in STAFF_TRANSITIONS} | {"customer: submit", "customer: accept offer"}
)


def request_from(row: dict) -> Request | None:
    """One line of the record: a request (``kind`` "request": ``t``, ``ms``, ``name``, ``status``),
    or None for the other lines (the transitions users asked for, which the invariants read)."""
    if row.get("kind", "request") != "request":
        return None
    name = str(row.get("name", "?"))
    return Request(
        t=float(row["t"]),
        ms=float(row.get("ms") or 0.0),
        name=name,
        status=int(row.get("status") or 0),
        transition=name in TRANSITION_NAMES,
    )


def read_record(path: Path) -> list[Request]:
    requests = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip() and (request := request_from(json.loads(line))):
                requests.append(request)
    requests.sort(key=lambda r: r.t)
    return requests


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile, continuous (PostgreSQL's ``percentile_cont``); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class Figures:
    """The requests answered in one window of time."""

    seconds: float
    requests: int
    server_errors: int  # 5xx
    unanswered: int  # no answer: refused, reset, timed out
    p50_ms: float | None
    p95_ms: float | None
    transitions: int
    transition_p50_ms: float | None
    transition_p95_ms: float | None
    timeline_p50_ms: float | None  # the customer's timeline, the page read most
    timeline_p95_ms: float | None
    errors_by_name: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def answered_in(request: Request, start: float, end: float) -> bool:
    """Was the answer (or the failure) in [start, end)? A request counts where its user saw the
    outcome: one sent just before a fault and failed by it counts in the fault."""
    return start <= request.t + request.ms / 1000 < end


def figures(requests: Iterable[Request], start: float, end: float) -> Figures:
    """The requests answered in [start, end)."""
    inside = [r for r in requests if answered_in(r, start, end)]
    moved = [r.ms for r in inside if r.transition and 200 <= r.status < 400]
    timelines = [r.ms for r in inside if r.name == TIMELINE and r.status == 200]
    errors: dict[str, int] = {}
    for r in inside:
        if r.status == 0 or r.status >= 500:
            errors[f"{r.name} {r.status or 'no answer'}"] = (
                errors.get(f"{r.name} {r.status or 'no answer'}", 0) + 1
            )
    return Figures(
        seconds=end - start,
        requests=len(inside),
        server_errors=sum(r.status >= 500 for r in inside),
        unanswered=sum(r.status == 0 for r in inside),
        p50_ms=quantile([r.ms for r in inside], 0.5),
        p95_ms=quantile([r.ms for r in inside], 0.95),
        transitions=len(moved),
        transition_p50_ms=quantile(moved, 0.5),
        transition_p95_ms=quantile(moved, 0.95),
        timeline_p50_ms=quantile(timelines, 0.5),
        timeline_p95_ms=quantile(timelines, 0.95),
        errors_by_name=dict(sorted(errors.items(), key=lambda item: -item[1])),
    )


@dataclass(frozen=True)
class Promise:
    what: str
    held: bool
    figure: str


@dataclass
class Fault:
    """One fault as it was tried: its window, what the drill noted, and its promises."""

    key: str
    title: str
    start: float
    end: float  # the fault undone (Redis started or resumed) or the window's end for a kill
    after: float  # the end of the minute after
    notes: list[str] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
    redis_away: bool = False  # the 5xx and 2× promises apply


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def slowdown(
    requests: list[Request], window: tuple[float, float], steady: list[Request]
) -> tuple[float | None, int]:
    """How much slower the transitions answered in ``window`` were than the same transitions in
    steady running (``steady``: every request answered outside the faults' windows): the median of
    each one's time over its own transition's steady median, and how many were compared. The
    transitions differ tenfold in cost (a submission 0.2 s, a disbursement 1 s), and a 30 s window
    holds about ten of them, so comparing plain medians compared mostly which ones came by."""
    usual: dict[str, list[float]] = {}
    for r in steady:
        if r.transition and 200 <= r.status < 400:
            usual.setdefault(r.name, []).append(r.ms)
    medians = {name: quantile(times, 0.5) for name, times in usual.items() if len(times) >= 3}
    ratios = [
        r.ms / medians[r.name]
        for r in requests
        if r.transition and 200 <= r.status < 400 and r.name in medians and answered_in(r, *window)
    ]
    return quantile(ratios, 0.5), len(ratios)


def judge(fault: Fault, during: Figures, after: Figures, slower: tuple[float | None, int]) -> None:
    """Add the promises every fault keeps to ``fault.promises``: no 5xx while Redis is away,
    transitions at most 2× as slow as usual then (``slowdown``), and in the minute after any fault
    no 5xx."""
    if fault.redis_away:
        fault.promises.append(
            Promise(
                "no HTTP 5xx while Redis is away", during.server_errors == 0, f"{during.server_errors} 5xx"
            )
        )
        times, compared = slower
        fault.promises.append(
            Promise(
                f"transitions at most {SLOWER_AT_MOST:g}× as slow as usual (median, each against its own kind)",
                times is not None and times <= SLOWER_AT_MOST,
                "no transition answered" if times is None else f"{times:.2f}× ({compared} transitions)",
            )
        )
    fault.promises.append(
        Promise("no HTTP 5xx in the minute after", after.server_errors == 0, f"{after.server_errors} 5xx")
    )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def fault_table(
    fault: Fault, during: Figures, after: Figures, baseline: Figures, slower: tuple[float | None, int]
) -> str:
    rows = [
        ("window", f"{during.seconds:.0f} s", f"{after.seconds:.0f} s", f"{baseline.seconds:.0f} s"),
        ("requests (per second)", *(f"{f.requests:,} ({f.rate:.1f}/s)" for f in (during, after, baseline))),
        ("HTTP 5xx", *(f"{f.server_errors}" for f in (during, after, baseline))),
        ("no answer (refused, reset)", *(f"{f.unanswered}" for f in (during, after, baseline))),
        (
            "every request: p50 / p95",
            *(f"{_ms(f.p50_ms)} / {_ms(f.p95_ms)}" for f in (during, after, baseline)),
        ),
        ("transitions answered", *(f"{f.transitions}" for f in (during, after, baseline))),
        (
            "transitions: p50 / p95",
            *(f"{_ms(f.transition_p50_ms)} / {_ms(f.transition_p95_ms)}" for f in (during, after, baseline)),
        ),
        (
            "transitions ÷ baseline: p50 / p95",
            *(
                f"{_x(ratio(f.transition_p50_ms, baseline.transition_p50_ms))} / "
                f"{_x(ratio(f.transition_p95_ms, baseline.transition_p95_ms))}"
                for f in (during, after, baseline)
            ),
        ),
        (
            "transitions ÷ the same kind's usual time: median (how many)",
            f"{_x(slower[0])} ({slower[1]})",
            "",
            "",
        ),
        (
            "customer's timeline: p50 / p95",
            *(f"{_ms(f.timeline_p50_ms)} / {_ms(f.timeline_p95_ms)}" for f in (during, after, baseline)),
        ),
    ]
    lines = [f"### {fault.title}", ""]
    lines += [f"- {note}" for note in fault.notes]
    if fault.notes:
        lines.append("")
    lines += ["| what users saw | during the fault | the minute after | baseline |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    errors = {**during.errors_by_name}
    for name, count in after.errors_by_name.items():
        errors[name] = errors.get(name, 0) + count
    if errors:
        listed = ", ".join(f"{name} × {count}" for name, count in list(errors.items())[:8])
        lines += ["", f"Failed requests (fault and minute after): {listed}."]
    if fault.promises:
        lines += ["", "| promise | held | figure |", "|---|---|---|"]
        lines += [f"| {p.what} | {'yes' if p.held else '**NO**'} | {p.figure} |" for p in fault.promises]
    return "\n".join(lines)


def analyse(
    requests: list[Request], faults: list[Fault], baseline: tuple[float, float]
) -> tuple[Figures, list[str]]:
    """Judge every fault against the baseline; its figures and a table per fault."""
    base = figures(requests, *baseline)
    steady = [r for r in requests if not any(answered_in(r, f.start, f.end) for f in faults)]
    tables = []
    for fault in faults:
        during = figures(requests, fault.start, fault.end)
        after = figures(requests, fault.end, fault.after)
        slower = slowdown(requests, (fault.start, fault.end), steady)
        judge(fault, during, after, slower)
        tables.append(fault_table(fault, during, after, base, slower))
    return base, tables


def outside(requests: list[Request], windows: list[tuple[float, float]]) -> Figures:
    """The requests answered in none of the windows (the users starting, the gaps between faults):
    their 5xx and unanswered ones count too."""
    left = [r for r in requests if not any(answered_in(r, *window) for window in windows)]
    return figures(left, float("-inf"), float("inf"))


def broken(faults: list[Fault], extra: list[Promise]) -> list[str]:
    """Every hard promise not kept, in words."""
    return [f"{f.title}: {p.what} ({p.figure})" for f in faults for p in f.promises if not p.held] + [
        f"{p.what} ({p.figure})" for p in extra if not p.held
    ]


def _summary_row(
    fault: Fault, during: Figures, after: Figures, base: Figures, slower: tuple[float | None, int]
) -> str:
    timeline = ratio(during.timeline_p50_ms, base.timeline_p50_ms)
    held = sum(p.held for p in fault.promises)
    return (
        f"| {fault.title.split('. ', 1)[-1]} | {during.requests:,} | {during.server_errors} | {during.unanswered} | "
        f"{after.server_errors} | {after.unanswered} | {_x(slower[0])} ({slower[1]}) | {_x(timeline)} | "
        f"{held} of {len(fault.promises)} |"
    )


def document(
    *,
    requests: list[Request],
    faults: list[Fault],
    tables: list[str],
    baseline: Figures,
    whole: Figures,
    extra: list[Promise],
    results: dict,
    drained: dict,
    setup: list[str],
) -> str:
    """bench/faults.md: how the drill ran, a summary, a table per fault, and what held after."""
    lines = ["# Faults during the load (`make faults`)", "", *setup, ""]
    lines += [
        "## Summary",
        "",
        "| fault | requests during | 5xx | no answer | 5xx the minute after | no answer the minute after "
        "| transitions ÷ their kind's usual time: median (how many) | timeline's median ÷ baseline | promises held |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    steady = [r for r in requests if not any(answered_in(r, f.start, f.end) for f in faults)]
    for fault in faults:
        during = figures(requests, fault.start, fault.end)
        after = figures(requests, fault.end, fault.after)
        slower = slowdown(requests, (fault.start, fault.end), steady)
        lines.append(_summary_row(fault, during, after, baseline, slower))
    lines += [
        "",
        f"Baseline minute: {baseline.requests:,} requests ({baseline.rate:.1f}/s), {baseline.server_errors} 5xx, "
        f"every request p50 {_ms(baseline.p50_ms)} / p95 {_ms(baseline.p95_ms)}, "
        f"{baseline.transitions} transitions p50 {_ms(baseline.transition_p50_ms)} / p95 {_ms(baseline.transition_p95_ms)}. "
        f"The whole run: {whole.requests:,} requests in {whole.seconds:.0f} s ({whole.rate:.1f}/s), "
        f"{whole.server_errors} 5xx, {whole.unanswered} unanswered.",
        "",
        "## Each fault: what users saw",
        "",
    ]
    for table in tables:
        lines += [table, ""]
    figures_ = results.get("figures", {})
    lines += [
        "## After the faults",
        "",
        f"- Queued work drained in {drained.get('seconds')} s (at most the drain's bound); left: "
        + ", ".join(f"{k} {v}" for k, v in drained.get("left", {}).items())
        + ".",
        "- The load's invariants (`bench.traffic.invariants`): "
        + ", ".join(f"{name} {count}" for name, count in results.get("counts", {}).items())
        + " problem(s). Answers 5xx and requests left without one are judged per window above.",
        f"- Transitions done: {figures_.get('transitions_done', '?')}; events since the start: "
        f"{figures_.get('events_since_start', '?')}; texts accepted by the provider: "
        f"{figures_.get('sms_accepted', '?')}, e-mails: {figures_.get('emails_accepted', '?')}, webhooks received: "
        f"{figures_.get('webhooks_received', '?')}; deliveries by status: {figures_.get('deliveries', '?')}; "
        f"webhook deliveries: {figures_.get('webhook_deliveries', '?')}.",
    ]
    problems = {name: found for name, found in results.get("problems", {}).items() if found}
    for name, found in problems.items():
        lines.append(f"- {name}: " + "; ".join(map(str, found[:5])))
    lines += ["", "| promise after the faults | held | figure |", "|---|---|---|"]
    lines += [f"| {p.what} | {'yes' if p.held else '**NO**'} | {p.figure} |" for p in extra]
    gone = broken(faults, extra)
    lines += [
        "",
        f"**{'Every hard promise held.' if not gone else f'{len(gone)} hard promise(s) broken.'}**",
        "",
    ]
    return "\n".join(lines)


def setup_lines(meta: dict) -> list[str]:
    when = dt.datetime.fromtimestamp(meta["load"][0], dt.UTC)
    web1, web2 = meta["web_ports"]
    return [
        f"Run {when:%Y-%m-%d %H:%M} UTC on this machine ({os.cpu_count()} cores, shared with other work; "
        f"load average {meta['loadavg'][0]:.1f} when the load began, {meta['loadavg'][1]:.1f} at the end). "
        f"`make faults` (`bench/traffic/faults.py`), on servers of its own: PostgreSQL on 127.0.0.1:{meta['pg_port']} "
        f"and Redis on 127.0.0.1:{meta['redis_port']} (the machine's shared ones untouched).",
        "",
        f"- The book: `seed_demo --applications {meta['applications']:,}`, then `make load`'s preparation "
        f"({meta['customers']} customers with files, staff, dealers' API keys and webhook endpoints).",
        f"- The topology: `Procfile.cluster` as `make load` runs it (web1 and web2 on {web1} and {web2}, 2 gunicorn "
        "workers each; a Celery worker for precheck, notifications (2 processes), reports and the default queue; "
        "one beat; each under bin/restarting), the fake SMS/e-mail provider and webhook receiver.",
        f"- The load: locust with {meta['users']} users (70 % customers, 20 % staff, 7 % dealers' API, 3 % "
        f"managers; 1–15 s between actions), started at {meta['spawn_rate']:g} a second, for the whole drill.",
        f"- The drill: a baseline minute, then each fault in turn followed by {meta['recovery']:.0f} s to recover "
        f'("the minute after"). "During" is the fault\'s window: Redis away {meta["away"]:.0f} s; a kill or a '
        f"restart, the {meta['window']:.0f} s from it. Transitions are the staff's POSTs that move a file and the "
        "customer's submission and acceptance of an offer.",
        *([f"- {meta['note']}"] if meta.get("note") else []),
    ]
