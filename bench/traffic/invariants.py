"""What must hold after ``make load``, checked on the database and the fakes' records. Run by
``bench/traffic/run.py`` (after the load stopped and the queued work drained) as

    DJANGO_SETTINGS_MODULE=bench.traffic.settings python -m bench.traffic.invariants check RUN_DIR

where ``RUN_DIR`` holds ``prepared.json`` (with ``marks``: the largest ids of the history, the
deliveries and the webhook deliveries before the preparation began, so "since the run" is read from
the primary keys, not by scanning timestamps), ``record.jsonl`` (the locustfile's),
``provider.jsonl`` and ``receiver.jsonl`` (the fakes'). It writes ``invariants.json`` and prints it. ``… invariants drain RUN_DIR SECONDS`` first waits, at
most that long, for the run's queued work to finish (``drain.json``: what was left);
``… invariants catch-up RUN_DIR SECONDS`` waits, at most that long, for the backlog of the book
(``backlog``: whoever made it) to be worked off (``catch_up.json``).

The invariants, each a list of problems (empty: it holds):

- ``chains``: every history chain the run touched verifies (``applications.history.verify_chains``
  over the files with an event since the mark); the full check over every file is timed on a
  sample (``LOAD_VERIFY_SAMPLE`` files, 20,000) and estimated, or run whole with ``LOAD_FULL_VERIFY=1``.
- ``stages``: every file's stage equals its last event's ``to_stage`` (one SQL statement, all files).
- ``notifications_twice``: no SMS or e-mail accepted twice by the fake provider (by the delivery's
  reference, the e-mail's Message-ID); ``notifications_lost``: every delivery of the run marked sent
  reached the provider.
- ``webhooks_twice``: no ``Webhook-Id`` posted twice to the fake receiver; ``webhooks_lost``:
  every webhook delivery of the run marked delivered reached it.
- ``transitions_lost``: every transition the load was told was done has exactly one event: staff by
  the unique note each carried (application, transition, target stage and actor must match), a
  customer's submission or accepted offer and a dealer's new file (a retry with the same
  Idempotency-Key included) by file and transition.
- ``server_errors``: no answer 5xx (per request name); ``unanswered``: every request got an answer
  (none cut off by gunicorn's timeout or refused: behind a proxy those would be 502 or 504).

Also reported (no invariant): transitions done that the load did not see answered as done, the
deliveries' and webhooks' final statuses, and what was still queued when the drain gave up.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.traffic.fakes import duplicates, read_lines

STAGE_MISMATCH_SQL = """
    SELECT a.id, a.reference, a.stage, e.to_stage
    FROM applications_loanapplication a
    LEFT JOIN LATERAL (
        SELECT to_stage FROM applications_stageevent e
        WHERE e.application_id = a.id ORDER BY e.sequence DESC LIMIT 1
    ) e ON true
    WHERE e.to_stage IS DISTINCT FROM a.stage
    ORDER BY a.id
"""
SHOWN = 20  # problems listed per invariant; the count is always whole


# --- Pure checks (tests/test_load_invariants.py) -----------------------------------------------


def server_errors(requests: Iterable[dict], *, unanswered: bool = False) -> dict[str, int]:
    """{request name: answers 5xx}, or with ``unanswered`` those that got no answer at all (a
    worker killed by its timeout, a refused connection: behind a proxy, a 502 or 504)."""
    found: Counter[str] = Counter()
    for line in requests:
        status = line.get("status", 0)
        if (status == 0) if unanswered else status >= 500:
            found[line["name"]] += 1
    return dict(found)


def twice(lines: Iterable[dict], kinds: Iterable[str]) -> list[str]:
    """Every message of these kinds accepted more than once, as "kind id ×n"."""
    found = duplicates(lines)
    return [f"{kind} {ident} ×{n}" for kind in kinds for ident, n in sorted(found.get(kind, {}).items())]


def transitions_lost(transitions: Iterable[dict], events: list[dict]) -> tuple[list[str], list[str]]:
    """(lost, unreported). ``transitions``: the record's "transition" lines; ``events``: the
        history's events since the mark (``application_id``, ``reference``, ``transition``,
        ``to_stage``, ``actor_id``, ``note``). Lost: a transition answered as done without exactly one
        matching event. Unreported: an event carrying a load note whose transition was not answered
        as done (the user was not told: informative), saying whether the load recorded an answer
    ("answered as not done": say a 5xx after the commit) or none ("no answer recorded": the run
    stopped while the request was in flight)."""
    by_note: dict[str, list[dict]] = defaultdict(list)
    by_file: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in events:
        if event.get("note"):
            by_note[event["note"]].append(event)
        by_file[(event["reference"], event["transition"])].append(event)
    lost: list[str] = []
    told_done: set[str] = set()
    answered: set[str] = set()
    files_done: set[tuple[str, str]] = set()
    for line in transitions:
        answered.add(line.get("note") or "")
        if not line.get("ok"):
            continue
        name = line["transition"]
        if line.get("note"):
            told_done.add(line["note"])
            found = by_note.get(line["note"], [])
            matching = [
                e
                for e in found
                if str(e["application_id"]) == str(line["application_id"])
                and e["transition"] == name
                and e["to_stage"] == line["to_stage"]
                and (line.get("user_id") is None or e["actor_id"] == line["user_id"])
            ]
            if len(matching) != 1 or len(found) != 1:
                lost.append(
                    f"{name} of file {line['application_id']} by {line.get('user')}: {len(found)} events"
                )
            continue
        key = (line["reference"], name)
        if key in files_done:
            continue  # a replay (the same Idempotency-Key) answered with the same file
        files_done.add(key)
        matching = [e for e in by_file.get(key, []) if e["to_stage"] == line["to_stage"]]
        if len(matching) != 1:
            lost.append(f"{name} of {line['reference']} by {line.get('user')}: {len(matching)} events")
    unreported = [
        f"{e['transition']} of file {e['application_id']} ({note}): "
        + ("answered as not done" if note in answered else "no answer recorded")
        for note, found in by_note.items()
        if note.startswith("make load ") and note not in told_done
        for e in found
    ]
    return lost, unreported


# --- On the database ------------------------------------------------------------------------------


def stage_mismatches() -> tuple[list[str], float]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(STAGE_MISMATCH_SQL)
        rows = cursor.fetchall()
    return [f"{ref} (id {pk}) is at {stage}, its last event at {last}" for pk, ref, stage, last in rows], (
        time.perf_counter() - started
    )


def events_since(mark: int) -> list[dict]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT e.application_id, a.reference, e.kind, e.transition, e.to_stage, e.actor_id, e.note
               FROM applications_stageevent e JOIN applications_loanapplication a ON a.id = e.application_id
               WHERE e.id > %s""",
            [mark],
        )
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def chains(application_ids: Iterable[int]) -> tuple[list[str], int, float]:
    from applications.history import verify_chains

    started = time.perf_counter()
    checked, broken = 0, []
    for reference, link in verify_chains(application_ids=application_ids):
        checked += 1
        if link is not None:
            broken.append(f"{reference}: {link}")
    return broken, checked, time.perf_counter() - started


def full_chain_cost() -> dict[str, Any]:
    """The whole check (``LOAD_FULL_VERIFY=1``), or its time on the first files, extrapolated."""
    from applications.history import verify_chains
    from applications.models import LoanApplication

    total = LoanApplication.objects.count()
    if os.environ.get("LOAD_FULL_VERIFY", "") not in ("", "0"):
        started = time.perf_counter()
        broken = [f"{ref}: {link}" for ref, link in verify_chains() if link is not None]
        return {
            "applications": total,
            "checked": total,
            "seconds": time.perf_counter() - started,
            "broken": broken,
        }
    sample = int(os.environ.get("LOAD_VERIFY_SAMPLE", "20000"))
    started, checked, broken = time.perf_counter(), 0, []
    for ref, link in verify_chains():
        checked += 1
        if link is not None:
            broken.append(f"{ref}: {link}")
        if checked >= sample:
            break
    seconds = time.perf_counter() - started
    return {
        "applications": total,
        "checked": checked,
        "seconds": seconds,
        "estimated_seconds": seconds * total / max(checked, 1),
        "broken": broken,
    }


def deliveries(mark: int, provider: list[dict]) -> dict[str, Any]:
    from notifications.choices import DeliveryStatus
    from notifications.models import Delivery

    rows = list(Delivery.objects.filter(pk__gt=mark).values_list("pk", "channel", "status"))
    received = {line["id"] for line in provider}
    lost = []
    for pk, channel, status in rows:
        if status != DeliveryStatus.SENT:
            continue
        reference = f"loanportal-delivery-{pk}"
        if reference not in received and not any(i.startswith(f"<{reference}@") for i in received):
            lost.append(f"{channel} delivery {pk}")
    return {"statuses": dict(Counter(f"{c} {s}" for _pk, c, s in rows)), "lost": lost}


def webhooks(mark: int, receiver: list[dict]) -> dict[str, Any]:
    from notifications.webhooks.choices import WebhookStatus
    from notifications.webhooks.models import WebhookDelivery

    rows = list(WebhookDelivery.objects.filter(pk__gt=mark).values_list("pk", "event_id", "status"))
    received = {line["id"] for line in receiver}
    lost = [
        f"webhook delivery {pk}"
        for pk, ev, st in rows
        if st == WebhookStatus.DELIVERED and str(ev) not in received
    ]
    return {"statuses": dict(Counter(s for _pk, _ev, s in rows)), "lost": lost}


def check(run_dir: Path) -> dict[str, Any]:
    prepared = json.loads((run_dir / "prepared.json").read_text(encoding="utf-8"))
    marks = prepared["marks"]
    record = list(read_lines(run_dir / "record.jsonl"))
    provider = list(read_lines(run_dir / "provider.jsonl"))
    receiver = list(read_lines(run_dir / "receiver.jsonl"))
    events = events_since(marks["event"])
    touched = {e["application_id"] for e in events}
    broken, checked, chain_seconds = chains(touched)
    mismatched, stage_seconds = stage_mismatches()
    lost, unreported = transitions_lost([x for x in record if x.get("kind") == "transition"], events)
    notices = deliveries(marks["delivery"], provider)
    posts = webhooks(marks["webhook"], receiver)
    requests = [x for x in record if x.get("kind") == "request"]
    errors = server_errors(requests)
    unanswered = server_errors(requests, unanswered=True)
    invariants = {
        "chains": broken,
        "stages": mismatched,
        "notifications_twice": twice(provider, ("sms", "email")),
        "notifications_lost": notices["lost"],
        "webhooks_twice": twice(receiver, ("webhook",)),
        "webhooks_lost": posts["lost"],
        "transitions_lost": lost,
        "server_errors": [f"{name}: {n}" for name, n in sorted(errors.items())],
        "unanswered": [f"{name}: {n}" for name, n in sorted(unanswered.items())],
    }
    ok_transitions = [x for x in record if x.get("kind") == "transition" and x.get("ok")]
    return {
        "passed": not any(invariants.values()),
        "problems": {name: found[:SHOWN] for name, found in invariants.items()},
        "counts": {name: len(found) for name, found in invariants.items()},
        "figures": {
            "chains_checked": checked,
            "chains_seconds": round(chain_seconds, 2),
            "full_chains": full_chain_cost(),
            "stages_seconds": round(stage_seconds, 2),
            "events_since_start": len(events),
            "transitions_done": len(ok_transitions),
            "transitions_by_name": dict(Counter(x["transition"] for x in ok_transitions)),
            "transitions_refused": sum(
                1 for x in record if x.get("kind") == "transition" and not x.get("ok")
            ),
            "transitions_unreported": unreported[:SHOWN],
            "transitions_unreported_count": len(unreported),
            "sms_accepted": sum(1 for x in provider if x["kind"] == "sms"),
            "emails_accepted": sum(1 for x in provider if x["kind"] == "email"),
            "webhooks_received": len(receiver),
            "deliveries": notices["statuses"],
            "webhook_deliveries": posts["statuses"],
        },
    }


def queued(marks: dict[str, int]) -> dict[str, int]:
    """The run's work still waiting: deliveries and webhooks not finished, files submitted whose
    pre-check has not run."""
    from applications.choices import Stage
    from applications.models import LoanApplication, StageEvent
    from notifications.choices import DeliveryStatus
    from notifications.models import Delivery
    from notifications.webhooks.choices import WebhookStatus
    from notifications.webhooks.models import WebhookDelivery

    waiting = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED, DeliveryStatus.SENDING)
    submitted_in_run = StageEvent.objects.filter(pk__gt=marks["event"], transition="submit")
    submitted = LoanApplication.objects.filter(
        stage__in=(Stage.SUBMITTED, Stage.CREDIT_CHECK), pk__in=submitted_in_run.values("application_id")
    )
    return {
        "deliveries": Delivery.objects.filter(pk__gt=marks["delivery"], status__in=waiting).count(),
        "webhooks": WebhookDelivery.objects.filter(
            pk__gt=marks["webhook"], status__in=(WebhookStatus.PENDING, WebhookStatus.SENDING)
        ).count(),
        "prechecks": submitted.count(),
    }


def backlog() -> dict[str, int]:
    """Work waiting now whoever made it: deliveries and webhooks not finished, files past their
    stage's time limit that the SLA sweep has not marked breached yet, pre-checks overdue (the
    pre-check sweep's "over 2 minutes"). A freshly seeded book starts with a large one."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from applications.choices import CUSTOMER_STAGES, FINAL_STAGES, Stage
    from applications.models import LoanApplication
    from notifications.choices import DeliveryStatus
    from notifications.models import Delivery
    from notifications.webhooks.choices import WebhookStatus
    from notifications.webhooks.models import WebhookDelivery

    now = timezone.now()
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED, DeliveryStatus.SENDING)
    return {
        "deliveries": Delivery.objects.filter(status__in=waiting).count(),
        "webhooks": WebhookDelivery.objects.filter(
            status__in=(WebhookStatus.PENDING, WebhookStatus.SENDING)
        ).count(),
        # Staff stages (the sweep's) overdue by more than two sweep intervals, not marked yet.
        "breaches_unmarked": LoanApplication.objects.filter(
            stage_due_at__lte=now - dt.timedelta(seconds=2 * settings.SLA_SWEEP_INTERVAL)
        )
        .exclude(stage__in=FINAL_STAGES | CUSTOMER_STAGES)
        .exclude(sla_state="breached")
        .count(),
        "prechecks_overdue": LoanApplication.objects.filter(
            stage__in=(Stage.SUBMITTED, Stage.CREDIT_CHECK),
            stage_entered_at__lte=now - dt.timedelta(minutes=2),
        ).count(),
    }


def catch_up(seconds: float) -> dict[str, Any]:
    """Wait (at most ``seconds``) for beat and the workers to work off the backlog."""
    started = time.monotonic()
    before = left = backlog()
    while any(left.values()) and time.monotonic() - started < seconds:
        time.sleep(10)
        left = backlog()
    return {"before": before, "left": left, "seconds": round(time.monotonic() - started, 1)}


def drain(run_dir: Path, seconds: float) -> dict[str, Any]:
    """Wait (at most ``seconds``) until the run's queued work is done; return what is left."""
    marks = json.loads((run_dir / "prepared.json").read_text(encoding="utf-8"))["marks"]
    started = time.monotonic()
    left = queued(marks)
    while any(left.values()) and time.monotonic() - started < seconds:
        time.sleep(2)
        left = queued(marks)
    return {"left": left, "seconds": round(time.monotonic() - started, 1)}


def main(command: str, run_dir: str, seconds: str = "120") -> None:
    import django

    django.setup()
    if command == "catch-up":
        answer = catch_up(float(seconds))
        (Path(run_dir) / "catch_up.json").write_text(json.dumps(answer))
        print(json.dumps(answer))
        return
    if command == "drain":
        answer = drain(Path(run_dir), float(seconds))
        (Path(run_dir) / "drain.json").write_text(json.dumps(answer))
        print(json.dumps(answer))
        return
    answer = check(Path(run_dir))
    (Path(run_dir) / "invariants.json").write_text(json.dumps(answer, indent=1, ensure_ascii=False))
    json.dump(answer, sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
