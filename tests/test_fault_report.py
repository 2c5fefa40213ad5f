"""``make faults``' reading of the load's record: which requests fall in a fault's window and the
minute after, and which promises each window keeps (``bench.traffic.fault_report``)."""

from __future__ import annotations

import json

from bench.traffic.fault_report import Fault, analyse, broken, figures, outside, read_record, request_from

T0 = 1_800_000_000.0  # the baseline starts here; the fault at +100 s, for 30 s; the minute after


def line(t: float, name: str, status: int = 200, ms: float = 40.0) -> dict:
    return {
        "kind": "request",
        "t": T0 + t,
        "mono": t,
        "name": name,
        "method": "GET",
        "status": status,
        "ms": ms,
        "error": "",
    }


def record(tmp_path, lines: list[dict]):
    path = tmp_path / "record.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return read_record(path)


def redis_fault() -> Fault:
    return Fault(
        key="redis-stopped",
        title="2. Redis stopped",
        start=T0 + 100,
        end=T0 + 130,
        after=T0 + 190,
        redis_away=True,
    )


def test_only_requests_are_read_and_transitions_are_known_by_name():
    assert request_from({"kind": "transition", "t": T0, "transition": "approve", "ok": True}) is None
    assert request_from(line(0, "staff: approve")).transition
    assert request_from(line(0, "customer: submit")).transition
    assert not request_from(line(0, "staff: queue (mine)")).transition
    assert request_from({**line(0, "customer: timeline"), "status": 0}).status == 0  # no answer


def test_requests_count_in_the_window_they_were_sent_in(tmp_path):
    requests = record(
        tmp_path,
        [
            line(10, "customer: timeline"),
            line(99.9, "customer: timeline", status=500),  # before the fault
            line(100, "customer: timeline", status=500),  # the fault's first moment
            line(129.9, "customer: inbox", status=0),
            line(130, "customer: home", status=502),  # the minute after
        ],
    )
    during = figures(requests, T0 + 100, T0 + 130)
    after = figures(requests, T0 + 130, T0 + 190)
    assert (during.requests, during.server_errors, during.unanswered) == (2, 1, 1)
    assert (after.requests, after.server_errors) == (1, 1)
    assert during.errors_by_name == {"customer: timeline 500": 1, "customer: inbox no answer": 1}


def test_a_transition_twice_as_slow_while_redis_is_away_keeps_the_promise_and_more_breaks_it(tmp_path):
    baseline = [line(t, "staff: approve", status=302, ms=100) for t in range(0, 60, 6)]
    kept = record(
        tmp_path, [*baseline, *(line(100 + t, "staff: approve", status=302, ms=200) for t in range(5))]
    )
    fault = redis_fault()
    analyse(kept, [fault], (T0, T0 + 60))
    assert [(p.what, p.held, p.figure) for p in fault.promises] == [
        ("no HTTP 5xx while Redis is away", True, "0 5xx"),
        (
            "transitions at most 2× as slow as usual (median, each against its own kind)",
            True,
            "2.00× (5 transitions)",
        ),
        ("no HTTP 5xx in the minute after", True, "0 5xx"),
    ]

    slower = record(
        tmp_path, [*baseline, *(line(100 + t, "staff: approve", status=302, ms=250) for t in range(5))]
    )
    fault = redis_fault()
    analyse(slower, [fault], (T0, T0 + 60))
    assert broken([fault], []) == [
        "2. Redis stopped: transitions at most 2× as slow as usual (median, each against its own kind) (2.50× (5 transitions))"
    ]


def test_a_refused_transition_is_not_timed_and_a_5xx_while_redis_is_away_is_a_broken_promise(tmp_path):
    requests = record(
        tmp_path,
        [
            *(line(t, "staff: approve", status=302, ms=100) for t in range(0, 60, 6)),
            line(101, "staff: approve", status=500, ms=5),  # fast, but an error: not a transition done
            line(102, "staff: approve", status=302, ms=120),
        ],
    )
    fault = redis_fault()
    _base, tables = analyse(requests, [fault], (T0, T0 + 60))
    during = figures(requests, fault.start, fault.end)
    assert (during.transitions, during.transition_p50_ms) == (1, 120)
    assert broken([fault], []) == ["2. Redis stopped: no HTTP 5xx while Redis is away (1 5xx)"]
    assert "| HTTP 5xx | 1 | 0 | 0 |" in tables[0]


def test_a_fault_other_than_redis_promises_only_a_clean_minute_after(tmp_path):
    requests = record(
        tmp_path, [line(101, "customer: timeline", status=500), line(140, "customer: timeline", status=500)]
    )
    fault = Fault(
        key="postgres", title="4. PostgreSQL restarted", start=T0 + 100, end=T0 + 120, after=T0 + 180
    )
    analyse(requests, [fault], (T0, T0 + 60))
    assert broken([fault], []) == ["4. PostgreSQL restarted: no HTTP 5xx in the minute after (1 5xx)"]


def test_a_request_counts_where_its_answer_came_and_none_is_lost_between_the_windows(tmp_path):
    requests = record(
        tmp_path,
        [
            line(99.5, "customer: timeline", status=500, ms=800),  # sent before the fault, failed in it
            line(97, "customer: inbox", status=500, ms=100),  # answered between the windows
            line(80, "customer: home"),
        ],
    )
    fault = Fault(
        key="postgres", title="4. PostgreSQL restarted", start=T0 + 100, end=T0 + 120, after=T0 + 180
    )
    assert figures(requests, fault.start, fault.end).server_errors == 1
    between = outside(requests, [(T0, T0 + 60), (fault.start, fault.after)])
    assert (between.requests, between.server_errors) == (2, 1)


def test_transitions_are_compared_with_their_own_kind_not_with_a_mix_of_kinds(tmp_path):
    """A disbursement takes five times a submission: a window that happened to hold more of them is
    not slower for it."""
    usual = [line(t, "customer: submit", status=302, ms=200) for t in range(0, 30, 3)]
    usual += [line(t, "staff: disburse", status=302, ms=1000) for t in range(30, 60, 3)]
    during = [line(100 + t, "staff: disburse", status=302, ms=1100) for t in range(5)]
    fault = redis_fault()
    analyse(record(tmp_path, [*usual, *during]), [fault], (T0, T0 + 60))
    assert fault.promises[1].held and fault.promises[1].figure == "1.10× (5 transitions)"
