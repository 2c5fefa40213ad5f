"""``make faults``: each fault tried from outside while ``make load``'s users work, and what they saw.

    .venv/bin/python -m bench.traffic.faults      # about 13 minutes in all; writes bench/faults.md

On servers of its own (``fault_services``: PostgreSQL on 5441 under ``var/faults/pg``, Redis on
6392, both started and stopped here; the machine's shared servers are never touched), a book of
``FAULTS_APPLICATIONS`` (2,000) files is migrated and seeded, and ``make load``'s topology started
on ports of its own (``bench.traffic.run``: web1 and web2, two gunicorn workers each; a Celery
worker per queue; one beat; the fake provider and webhook receiver), its users prepared and set to
work (locust, ``FAULTS_USERS`` users) for the whole drill. After a baseline minute, each fault in
turn, each followed by a minute to recover:

1. the notifications worker killed with SIGKILL (its main process and its pool) while it sends a
   text: the fake provider holds its answer back meanwhile, so the provider has the message and
   the row still says "sending", the case that would send it twice;
2. Redis stopped (SIGTERM: it saves its snapshot and exits) for 30 s, then started on its port;
3. Redis hung (SIGSTOP) for 30 s, then SIGCONT;
4. PostgreSQL restarted (``pg_ctl restart -m fast``);
5. the busiest gunicorn worker of web1, and web2's master, killed with SIGKILL.

Then the load stops, the run's queued work is drained (bounded) and the load's invariants checked.
``bench/faults.md`` gets a table per fault (``fault_report``); exit status 1 when a hard promise is
broken: a 5xx while Redis is away or in the minute after any fault, a transition's median more than
2× the baseline's while Redis is away, the interrupted delivery not sent within a minute or sent
twice, queued work left after the drain, or an invariant of the load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .fault_report import (
    Fault,
    Promise,
    analyse,
    broken,
    document,
    figures,
    outside,
    read_record,
    setup_lines,
)
from .fault_services import (
    ROOT,
    SMS_HOLD,
    STATE,
    Postgres,
    Proc,
    Redis,
    busiest,
    descendants,
    kill,
    listening,
    serve_provider,
    wait_for,
)

PYTHON = sys.executable
OUT = Path(os.environ.get("FAULTS_OUT", str(ROOT / "bench" / "faults.md")))
APPLICATIONS = int(os.environ.get("FAULTS_APPLICATIONS", "2000"))
USERS = int(os.environ.get("FAULTS_USERS", "24"))
BASELINE = float(os.environ.get("FAULTS_BASELINE_SECONDS", "60"))
AWAY = float(os.environ.get("FAULTS_AWAY_SECONDS", "30"))  # Redis stopped, Redis hung
WINDOW = float(os.environ.get("FAULTS_WINDOW_SECONDS", "20"))  # a kill, a restart: its window
RECOVERY = float(os.environ.get("FAULTS_RECOVERY_SECONDS", "60"))  # the minute after each fault
DRAIN = int(os.environ.get("FAULTS_DRAIN_SECONDS", "240"))
# Between the minute after one fault and the next fault: a request sent just before a fault and
# answered during it counts in the window it was sent in, not in the next fault's.
GUARD = 5.0
SPAWN = 12.0  # the users start at 2 a second; the baseline begins once all are at work
# gunicorn's "[2026-12-05 09:54:01 +0000] [18073] [INFO] Listening at: http://127.0.0.1:8822 (18073)".
LISTENING = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})\] \[(\d+)\] \[INFO\] Listening at")
HOLD_SECONDS = "3"  # inside the SMS backend's 5 s read timeout: the send succeeds, late


def say(message: str) -> None:
    print(f"[faults {dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


# --- The drill's own look at the database ------------------------------------------------------


class Book:
    """The few rows the drill reads itself (plain SQL: this process runs no Django), each query on
    a connection of its own, since the server may have restarted since the last."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, *params: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=3) as connection:
            return connection.execute(sql, params).fetchall()

    def sending(self, channel: str) -> list[int]:
        sql = "SELECT id FROM notifications_delivery WHERE status = 'sending' AND channel = %s ORDER BY id"
        return [row[0] for row in self.rows(sql, channel)]

    def delivery(self, pk: int) -> tuple[str, str, dt.datetime | None, int]:
        sql = "SELECT channel, status, sent_at, attempts FROM notifications_delivery WHERE id = %s"
        return self.rows(sql, pk)[0]


def accepted(record: Path, kind: str, ident: str) -> int:
    """How many times the fake provider accepted this message (by reference or Message-ID)."""
    if not record.exists():
        return 0
    count = 0
    for line in record.read_text(encoding="utf-8").splitlines():
        if line.strip():
            found = json.loads(line)
            count += found.get("kind") == kind and found.get("id") == ident
    return count


# --- The faults ---------------------------------------------------------------------------------


class Drill:
    """The servers, the topology and the faults tried so far; checks that run while it waits."""

    def __init__(self, pg: Postgres, redis: Redis, topology, book: Book) -> None:
        self.pg = pg
        self.redis = redis
        self.topology = topology
        self.book = book
        self.provider_record = topology.run_dir / "provider.jsonl"
        self.faults: list[Fault] = []
        self.watches: list[Callable[[], bool]] = []  # each returns True once done with

    def pause_until(self, moment: float) -> None:
        """Sleep until ``moment`` (Unix time), running the watches every half second."""
        while time.time() < moment:
            self.watches = [watch for watch in self.watches if not watch()]
            time.sleep(min(0.5, max(0.0, moment - time.time())))

    def finish_watches(self, seconds: float) -> None:
        deadline = time.time() + seconds
        while self.watches and time.time() < deadline:
            self.pause_until(time.time() + 1)

    def procs(self, name: str) -> list[Proc]:
        """The programs ``name`` runs now (under its supervisor loop)."""
        process = self.topology.processes.get(name)
        if process is None:
            return []
        return [p for p in descendants(process.pid) if not p.cmdline.startswith(("sh ", "/bin/sh ", "sleep"))]

    def main_pid(self, name: str) -> int | None:
        """The pid of the program ``name`` runs (its main process, not a pool's child)."""
        procs = self.procs(name)
        pids = {p.pid for p in procs}
        mains = [p.pid for p in procs if p.ppid not in pids]
        return mains[0] if mains else None

    def _watch_back(self, what: str, found: Callable[[], object], start: float, fault: Fault) -> None:
        def watch() -> bool:
            if found():
                fault.notes.append(
                    f"{what} was running again {time.time() - start:.1f} s after the fault began."
                )
                return True
            return False

        self.watches.append(watch)

    def new_fault(self, key: str, title: str, start: float, end: float, *, redis_away: bool = False) -> Fault:
        fault = Fault(key=key, title=title, start=start, end=end, after=end + RECOVERY, redis_away=redis_away)
        self.faults.append(fault)
        return fault

    # 1. ---------------------------------------------------------------------------------------

    def kill_notifications_worker(self) -> Fault:
        """SIGKILL while a text is at the provider and its answer is held back (at most 30 s of
        looking for one): the provider accepted it, the row says "sending"."""
        SMS_HOLD.write_text(HOLD_SECONDS)
        interrupted: list[int] = []
        deadline = time.time() + 30
        while time.time() < deadline and not interrupted:
            interrupted = [
                pk
                for pk in self.book.sending("sms")
                if accepted(self.provider_record, "sms", f"loanportal-delivery-{pk}")
            ]
            time.sleep(0.1)
        held = bool(interrupted)
        in_flight = interrupted or self.book.sending("sms") + self.book.sending("email")
        procs = self.procs("notifications")
        start = time.time()
        killed = kill(procs)
        SMS_HOLD.write_text("0")
        say(
            f"SIGKILL to the notifications worker ({len(killed)} processes); deliveries in flight: {in_flight}"
        )
        fault = self.new_fault(
            "worker", "1. The notifications worker killed with SIGKILL mid-send", start, start + WINDOW
        )
        fault.notes.append(
            f"SIGKILL to the worker's {len(killed)} processes (its main process and its pool) while "
            + (
                f"the provider held back its answer to {len(interrupted)} text(s) it had accepted "
                f"(deliveries {', '.join(map(str, interrupted))}, still 'sending')"
                if held
                else f"no text was at the provider (none came within 30 s); in flight: {in_flight or 'nothing'}"
            )
            + "."
        )
        self._watch_back(
            "The notifications worker",
            lambda: self.main_pid("notifications") not in (None, *killed),
            start,
            fault,
        )
        for pk in in_flight:
            self._watch_delivery(pk, start, fault)
        if not in_flight:
            fault.promises.append(Promise("a delivery interrupted by the kill", False, "none was in flight"))
        return fault

    def _watch_delivery(self, pk: int, start: float, fault: Fault) -> None:
        def watch() -> bool:
            try:
                channel, status, sent_at, attempts = self.book.delivery(pk)
            except Exception:  # the database restarting: look again later
                return False
            if status != "sent" or sent_at is None:
                return False
            after = sent_at.timestamp() - start
            if channel == "sms":
                times = accepted(self.provider_record, "sms", f"loanportal-delivery-{pk}")
            else:
                times = sum(
                    accepted(self.provider_record, "email", line)
                    for line in {
                        f"<loanportal-delivery-{pk}@localhost>",
                        f"<loanportal-delivery-{pk}@loanportal.invalid>",
                    }
                )
            fault.notes.append(
                f"Delivery {pk} ({channel}): marked sent {after:.1f} s after the kill, at its attempt "
                f"{attempts}; the provider accepted it {times} time(s)."
            )
            fault.promises.append(
                Promise(f"delivery {pk} sent within a minute of the kill", after <= 60, f"{after:.1f} s")
            )
            if channel == "sms":
                fault.promises.append(Promise(f"delivery {pk} sent once", times == 1, f"{times} time(s)"))
            return True

        self.watches.append(watch)

    # 2 and 3. ---------------------------------------------------------------------------------

    def redis_away(self, *, hung: bool) -> Fault:
        before = {
            name: self.main_pid(name) for name in ("precheck", "notifications", "reports", "default", "beat")
        }
        start = time.time()
        if hung:
            self.redis.pause()
        else:
            self.redis.stop()
        say(f"Redis {'hung (SIGSTOP)' if hung else 'stopped (SIGTERM)'} for {AWAY:.0f} s")
        self.pause_until(start + AWAY)
        if hung:
            self.redis.resume()
        else:
            self.redis.start()
        end = time.time()
        say("Redis back")
        how = "hung (SIGSTOP, then SIGCONT)" if hung else "stopped (SIGTERM, then started again)"
        fault = self.new_fault(
            "redis-hung" if hung else "redis-stopped",
            f"{3 if hung else 2}. Redis {how} for {AWAY:.0f} s",
            start,
            end,
            redis_away=True,
        )

        def workers_back() -> bool:
            if time.time() < end + 20:
                return False
            now = {name: self.main_pid(name) for name in before}
            restarted = sorted(name for name in before if now[name] != before[name])
            running = all(now.values())
            fault.notes.append(
                "Celery processes that exited and were started again by bin/restarting: "
                + (", ".join(restarted) if restarted else "none (each reconnected by itself)")
                + f"; 20 s after Redis came back every worker and beat {'ran' if running else 'did NOT run'}."
            )
            fault.promises.append(
                Promise(
                    "every worker and beat running again",
                    running,
                    f"{sum(map(bool, now.values()))} of {len(now)}",
                )
            )
            return True

        self.watches.append(workers_back)
        return fault

    # 4. ---------------------------------------------------------------------------------------

    def postgres_restart(self) -> Fault:
        start = time.time()
        self.pg.restart()
        took = time.time() - start
        say(f"PostgreSQL restarted in {took:.1f} s")
        fault = self.new_fault(
            "postgres", "4. PostgreSQL restarted (pg_ctl restart -m fast)", start, start + WINDOW
        )
        fault.notes.append(
            f"The restart took {took:.1f} s: every connection ended, the server stopped and started."
        )
        return fault

    # 5. ---------------------------------------------------------------------------------------

    def kill_web(self) -> Fault:
        web1_master = self.main_pid("web1")
        web1_workers = [p for p in self.procs("web1") if p.ppid == web1_master]
        web2_master = self.main_pid("web2")
        victim = busiest(web1_workers) if web1_workers else None
        targets = [p for p in [victim, *[q for q in self.procs("web2") if q.pid == web2_master]] if p]
        start = time.time()
        kill(targets)
        say(f"SIGKILL to web1's worker {victim.pid if victim else '-'} and web2's master {web2_master}")
        fault = self.new_fault(
            "web",
            "5. A busy web worker (web1) and a web process's master (web2) killed with SIGKILL",
            start,
            start + WINDOW,
        )
        fault.notes.append(
            "SIGKILL to the web1 worker that used the most CPU in the half second before (serving a "
            "request), and at the same moment to web2's gunicorn master. Its workers, orphaned, would go on "
            "serving and hold the port until they notice; bin/restarting, like systemd's KillMode=control-group, "
            "sends them SIGTERM (SIGKILL after 4 s) and then starts a new master."
        )
        old = {p.pid for p in web1_workers}

        def web1_whole() -> bool:
            pids = {p.pid for p in self.procs("web1") if p.ppid == web1_master}
            return len(pids) == len(old) and pids != old

        self._watch_back("web1's replacement worker", web1_whole, start, fault)
        self.watches.append(lambda: self._web2_listening(web2_master, start, fault))
        return fault

    def _web2_listening(self, old_master: int | None, start: float, fault: Fault) -> bool:
        """web2 is back when a new gunicorn master says "Listening at" in its log: until its old
        workers, orphaned by the kill, have gone (bin/restarting ends them), the port is theirs."""
        log = self.topology.run_dir / "logs" / "web2.log"
        found = None
        with contextlib.suppress(OSError):
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                match = LISTENING.match(line)
                if match and int(match[2]) != old_master:
                    moment = dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S %z").timestamp()
                    if moment >= start - 1:
                        found = moment
                        break
        if found is None:
            if time.time() - start < RECOVERY:
                return False
            fault.promises.append(
                Promise("web2 answering again within the minute", False, "no new master listening")
            )
            return True
        fault.notes.append(
            f"web2's new master was listening {max(0.0, found - start):.0f} s after the kill (gunicorn's log, to the "
            "second): the time for the killed master's workers to finish their requests and go, and a new master "
            "to start."
        )
        fault.promises.append(
            Promise("web2 answering again within the minute", found - start <= 60, f"{found - start:.0f} s")
        )
        return True


# --- The run ------------------------------------------------------------------------------------


def book(pg: Postgres, redis: Redis) -> None:
    """Migrate and seed the drill's database (``seed_demo`` with the development settings)."""
    import subprocess

    env = dict(os.environ, DATABASE_URL=pg.url, REDIS_URL=redis.url, PYTHONUNBUFFERED="1")
    env["DJANGO_SETTINGS_MODULE"] = "loanportal.settings.development"
    started = time.time()
    for command in (
        ["migrate", "--noinput", "--verbosity", "0"],
        ["seed_demo", "--applications", str(APPLICATIONS)],
    ):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env={**env, "DEBUG": "true"}, check=True)  # noqa: S603
    say(f"book migrated and seeded ({APPLICATIONS:,} applications) in {time.time() - started:.0f} s")


def config_for(pg: Postgres, redis: Redis):
    from . import run

    return run.Config(
        database_url=pg.url,
        redis_url=redis.url,
        web_ports=(
            int(os.environ.get("FAULTS_WEB1_PORT", "8821")),
            int(os.environ.get("FAULTS_WEB2_PORT", "8822")),
        ),
        provider_port=int(os.environ.get("FAULTS_PROVIDER_PORT", "8794")),
        receiver_port=int(os.environ.get("FAULTS_RECEIVER_PORT", "8795")),
        users=USERS,
        spawn_rate=2.0,
        customers=int(os.environ.get("FAULTS_CUSTOMERS", "30")),
        drain_seconds=DRAIN,
        run_dir=STATE / "run",
    )


def holding_provider(topology) -> None:
    """The provider again, as ``serve_provider`` (it reads its record back: nothing is forgotten)."""
    config = topology.config
    topology.stop_one("provider")
    topology.commands["provider"] = [
        PYTHON,
        "-m",
        "bench.traffic.faults",
        "provider",
        str(config.provider_port),
        str(topology.run_dir / "provider.jsonl"),
    ]
    topology.start_one("provider")
    wait_for(lambda: listening(config.provider_port), timeout=20, what="the fake provider")


def write_report(run_dir: Path) -> int:
    """bench/faults.md from a drill's files (``drill.json``, the record, ``invariants.json``);
    ``python -m bench.traffic.faults report`` writes it again from the last drill."""
    meta = json.loads((run_dir / "drill.json").read_text(encoding="utf-8"))
    results = json.loads((run_dir / "invariants.json").read_text(encoding="utf-8"))
    faults = [Fault(**{**f, "promises": [Promise(**p) for p in f["promises"]]}) for f in meta["faults"]]
    requests = read_record(run_dir / "record.jsonl")
    base, tables = analyse(requests, faults, tuple(meta["baseline"]))
    whole = figures(requests, *meta["load"])
    drained = meta["drained"]
    between = outside(requests, [tuple(meta["baseline"]), *((f.start, f.after) for f in faults)])
    extra = [
        Promise(
            "no HTTP 5xx and every request answered in the baseline minute",
            base.server_errors == 0 and base.unanswered == 0,
            f"{base.server_errors} 5xx, {base.unanswered} unanswered",
        ),
        Promise(
            "no HTTP 5xx and every request answered between the windows (users starting, gaps between faults)",
            between.server_errors == 0 and between.unanswered == 0,
            f"{between.server_errors} 5xx, {between.unanswered} unanswered of {between.requests:,}",
        ),
        Promise(
            "queued work done after the drain (deliveries, webhooks, pre-checks)",
            not any(drained["left"].values()),
            ", ".join(f"{k} {v}" for k, v in drained["left"].items()) + f" left after {drained['seconds']} s",
        ),
    ]
    for name, count in results["counts"].items():
        if name not in ("server_errors", "unanswered"):  # judged per window above
            extra.append(Promise(f"load invariant: {name}", count == 0, f"{count} problem(s)"))
    text = document(
        requests=requests,
        faults=faults,
        tables=tables,
        baseline=base,
        whole=whole,
        extra=extra,
        results=results,
        drained=drained,
        setup=setup_lines(meta),
    )
    OUT.write_text(text, encoding="utf-8")
    print(text)
    problems = broken(faults, extra)
    for problem in problems:
        say(f"BROKEN: {problem}")
    return 1 if problems else 0


def _interrupted(*_args: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: every finally clause stops what it started


def drill_faults(drill: Drill, load_started: float) -> tuple[float, float]:
    """The baseline, then the five faults with their minutes after; the baseline's window."""
    baseline = (load_started + SPAWN, load_started + SPAWN + BASELINE)
    say(f"baseline: {BASELINE:.0f} s")
    drill.pause_until(baseline[1])
    steps = [
        drill.kill_notifications_worker,
        lambda: drill.redis_away(hung=False),
        lambda: drill.redis_away(hung=True),
        drill.postgres_restart,
        drill.kill_web,
    ]
    for step in steps:
        fault = step()
        drill.pause_until(fault.after + GUARD)
    return baseline


def main() -> int:
    from . import run

    signal.signal(signal.SIGTERM, _interrupted)
    STATE.mkdir(parents=True, exist_ok=True)
    pg, redis = Postgres(), Redis()
    say(f"PostgreSQL on 127.0.0.1:{pg.port} ({pg.data}), Redis on 127.0.0.1:{redis.port}: the drill's own")
    pg.start()
    try:
        redis.start()
        book(pg, redis)
        config = config_for(pg, redis)
        shutil.rmtree(config.run_dir, ignore_errors=True)
        SMS_HOLD.write_text("0")
        topology = run.start_topology(config)
        drill = Drill(pg, redis, topology, Book(pg.url.replace("postgres://", "postgresql://")))
        try:
            holding_provider(topology)
            prepared = run.prepare(topology)
            planned = SPAWN + BASELINE + 30 + 3 * (WINDOW + RECOVERY) + 2 * (AWAY + RECOVERY) + 5 * GUARD + 60
            load_at_start = os.getloadavg()[0]
            load_started = time.time()
            load = run.start_load(topology, seconds=planned)
            try:
                baseline = drill_faults(drill, load_started)
            finally:
                load.terminate()
                load.wait(60)
            load_ended = time.time()
            drill.finish_watches(120)  # an interrupted delivery not sent yet: look a little longer
            say(f"load stopped; draining the run's queued work (at most {DRAIN} s)")
            drained = run.drain(topology)
            say(f"drained in {drained['seconds']} s; left: {drained['left']}")
        finally:
            topology.stop()
        run.check(topology)
    finally:
        redis.stop()
        pg.stop()
    meta = {
        "faults": [dataclasses.asdict(fault) for fault in drill.faults],
        "baseline": baseline,
        "load": (load_started, load_ended),
        "loadavg": (load_at_start, os.getloadavg()[0]),
        "drained": drained,
        "applications": APPLICATIONS,
        "customers": len(prepared.get("customers", [])),
        "users": config.users,
        "spawn_rate": config.spawn_rate,
        "web_ports": config.web_ports,
        "pg_port": pg.port,
        "redis_port": redis.port,
        "away": AWAY,
        "window": WINDOW,
        "recovery": RECOVERY,
        "note": os.environ.get("FAULTS_NOTE", ""),
    }
    (config.run_dir / "drill.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
    return write_report(config.run_dir)


if __name__ == "__main__":
    if sys.argv[1:2] == ["provider"]:
        serve_provider(int(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["report"]:  # again from a drill's files: `report [RUN_DIR]`
        sys.exit(write_report(Path(sys.argv[2]) if sys.argv[2:] else STATE / "run"))
    else:
        sys.exit(main())
