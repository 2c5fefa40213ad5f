"""The pages of ``make bench``, over HTTP: the site's frame against the minimal view, every customer
page with every cache empty against the frame, the timeline's repeat view, the staff queue.

Two servers, one after the other, each measured in interleaved rounds (a neighbour's burst on a
shared machine then falls on one round of each page, not on one page; each figure is its median
round, and every ratio compares pages measured in the same server and run):

- the **warm** server, the bench settings as in production (cache and sessions in Redis): the
  minimal view, the one-query view, the signed-in empty page, the timeline's repeat view (its
  body from the cache) and the 304 a browser's reload gets, then the staff queue for one user;
- the **cold** server (``BENCH_COLD=1``: ``bench.cold_cache.ColdCache``), where every request
  starts with every cache empty: the empty page again (its session now read from the database),
  and every customer page, each against that empty page.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from .config import DURATION, ROUNDS, manage, say
from .figures import Row, cpu_text, per_second
from .load import Load, Server, Target, get, warm, wrk

FRAME_TARGET = 0.25  # the signed-in empty page ÷ the minimal view
COLD_TARGET = 0.5  # each customer page, every cache empty ÷ the empty page
REPEAT_TARGET = 0.8  # the timeline's repeat view (body cached) ÷ the empty page
QUEUE_P95_MS = 150  # the staff queue, one user


class Beat:
    """The delay prediction's table, recomputed as beat does every 4 minutes ahead of its 5-minute
    expiry, so that no page measured here computes it (1 s on a million applications): before
    the first run, then whenever 200 s have passed."""

    EVERY = 200.0

    def __init__(self) -> None:
        self.last: float | None = None

    def __call__(self) -> None:
        if self.last is not None and time.monotonic() - self.last < self.EVERY:
            return
        say("the delay prediction's table, as beat refreshes it")
        manage("shell", "-c", "from applications.tasks import prediction_refresh; prediction_refresh()")
        self.last = time.monotonic()


def median(loads: list[Load]) -> Load:
    return sorted(loads, key=lambda load: load.rate)[len(loads) // 2]


def rounds(targets: dict[str, Target], beat: Beat) -> dict[str, list[Load]]:
    """``ROUNDS`` interleaved wrk runs of each target."""
    loads: dict[str, list[Load]] = {name: [] for name in targets}
    for number in range(ROUNDS):
        say(f"round {number + 1} of {ROUNDS}: {', '.join(targets)}")
        for name, target in targets.items():
            beat()
            loads[name].append(wrk(target))
    return loads


def per_round(loads: list[Load], baselines: list[Load]) -> str:
    return ", ".join(f"{a.rate / b.rate:.2f}" for a, b in zip(loads, baselines, strict=True))


def queries_text(page: dict[str, Any]) -> str:
    counts = page["queries"]
    return f"{counts['cold']} / {counts['warm']}"


def target_of(page: dict[str, Any], cookies: dict[str, str]) -> Target:
    return Target(page["path"], cookies[page.get("as", "customer")], page.get("body", ""))


def not_modified(target: Target, cache_seconds: int) -> Load | None:
    """The timeline answered 304: the ETag of the page as the server has it now, sent back as a
    browser's reload does. The ETag holds the window of ``TIMELINE_CACHE_SECONDS`` it was made
    in, so the run starts early in a window and fits in it (or is not made: None)."""
    if cache_seconds <= DURATION + 3:
        return None
    left = cache_seconds - time.time() % cache_seconds
    if left < DURATION + 3:
        time.sleep(left + 0.5)
    status, headers, _body = get(target)
    etag = headers.get("ETag")
    if status != 200 or not etag:
        return None
    reload = Target(target.path, target.cookie, headers=(("If-None-Match", etag),))
    if get(reload)[0] != 304:
        return None
    return wrk(reload)


def warm_server(prepared: dict[str, Any], beat: Beat) -> tuple[list[Row], Load]:
    pages, cookies = prepared["pages"], prepared["cookies"]
    repeat = target_of(pages["timeline_review"], cookies)
    targets = {
        "ping": Target("/bench/ping/"),
        "one_query": Target("/bench/one-query/"),
        "empty": target_of(pages["empty"], cookies),
        "repeat": repeat,
    }
    queue = Target(prepared["queue_url"], cookies["reviewer"])
    breached = Target(f"{prepared['queue_url']}?sla=breached", cookies["reviewer"])
    rows: list[Row] = []
    with Server():
        for target in (*targets.values(), queue, breached):
            warm(target)
        loads = rounds(targets, beat)
        ping, one_query, empty, repeated = (median(loads[name]) for name in targets)
        rows.append(Row("Minimal Django view `/bench/ping/` (the baseline)", per_second(ping)))
        rows.append(
            Row(
                "One database round trip: the minimal view plus `SELECT 1` (`/bench/one-query/`)",
                per_second(one_query),
                per_second(ping),
                one_query.rate / ping.rate,
            )
        )
        ratio = empty.rate / ping.rate
        rows.append(
            Row(
                "**The signed-in empty page** (`/bench/empty/`: session, user, navbar with the unread "
                f"count, base template) ÷ the minimal view (per round {per_round(loads['empty'], loads['ping'])})",
                per_second(empty),
                per_second(ping),
                ratio,
                f"≥ {FRAME_TARGET}",
                ratio >= FRAME_TARGET,
                queries_text(pages["empty"]),
            )
        )
        for label, load in (("minimal view", ping), ("one-query view", one_query), ("empty page", empty)):
            rows.append(
                Row(f"CPU per request, {label}: web workers / PostgreSQL / whole machine", cpu_text(load))
            )
        ratio = repeated.rate / empty.rate
        rows.append(
            Row(
                f"**Timeline, repeat view** ({pages['timeline_review']['label']}, its body from the cache; "
                f"200) ÷ the empty page (per round {per_round(loads['repeat'], loads['empty'])})",
                per_second(repeated),
                per_second(empty),
                ratio,
                f"≥ {REPEAT_TARGET}",
                ratio >= REPEAT_TARGET,
                queries_text(pages["timeline_review"]),
            )
        )
        reloaded = not_modified(repeat, prepared["timeline_cache_seconds"])
        rows.append(
            Row(
                "Timeline, a browser's reload answered 304 (its ETag sent back) ÷ the empty page",
                per_second(reloaded) if reloaded else "not measured (no ETag)",
                per_second(empty),
                reloaded.rate / empty.rate if reloaded else None,
            )
        )
        say("staff queue: first page and ?sla=breached, one user (one connection, back to back)")
        for label, target in (("first page", queue), ("filtered `?sla=breached`", breached)):
            load = wrk(target, connections=1, threads=1)
            rows.append(
                Row(
                    f"**Staff queue, {label}**, one reviewer: p50 / p95 / p99 latency "
                    f"({load.requests} requests back to back)",
                    f"{load.p50_ms:,.0f} / {load.p95_ms:,.0f} / {load.p99_ms:,.0f} ms",
                    target=f"p95 < {QUEUE_P95_MS} ms",
                    passed=load.p95_ms < QUEUE_P95_MS and not load.errors,
                )
            )
    return rows, ping


def cold_server(prepared: dict[str, Any], beat: Beat, ping: Load) -> list[Row]:
    pages, cookies = prepared["pages"], prepared["cookies"]
    targets = {name: target_of(page, cookies) for name, page in pages.items()}
    rows: list[Row] = []
    with Server(BENCH_COLD="1"):
        for target in targets.values():
            warm(target)
        loads = rounds(targets, beat)
    figures = {name: median(runs) for name, runs in loads.items()}
    empty = figures["empty"]
    rows.append(
        Row(
            "The signed-in empty page, every cache empty (its session read from the database) "
            "÷ the minimal view (warm server): the baseline of the rows below",
            per_second(empty),
            per_second(ping),
            empty.rate / ping.rate,
            queries=queries_text(pages["empty"]),
        )
    )
    ratios = []
    for name, page in pages.items():
        if name == "empty":
            continue
        ratio = figures[name].rate / empty.rate
        ratios.append(ratio)
        rows.append(
            Row(
                f"{page['label']}, every cache empty ÷ the empty page (per round "
                f"{per_round(loads[name], loads['empty'])})",
                per_second(figures[name]),
                per_second(empty),
                ratio,
                f"≥ {COLD_TARGET}",
                ratio >= COLD_TARGET,
                queries_text(page),
            )
        )
    rows.append(Row("Customer pages, every cache empty: median ratio", f"{statistics.median(ratios):.2f}"))
    long, short = pages["timeline_long"]["queries"], pages["timeline_review"]["queries"]
    rows.append(
        Row(
            "Timeline 200 events vs 10: queries (every cache empty / repeat view)",
            f"{long['cold']} / {long['warm']}",
            f"{short['cold']} / {short['warm']}",
            long["cold"] / short["cold"],
            "same",
            long == short,
        )
    )
    ratio = figures["timeline_long"].rate / figures["timeline_review"].rate
    rows.append(
        Row(
            "Timeline 200 events vs 10, every cache empty: throughput",
            per_second(figures["timeline_long"]),
            per_second(figures["timeline_review"]),
            ratio,
            "≥ 0.7",
            ratio >= 0.7,
        )
    )
    return rows


def measure(prepared: dict[str, Any]) -> list[Row]:
    beat = Beat()
    rows, ping = warm_server(prepared, beat)
    return rows + cold_server(prepared, beat, ping)
