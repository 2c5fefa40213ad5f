"""``make load``: the production topology on this machine under a locust load, then the invariants.

    python -m bench.traffic.run          # make load

Steps: a Redis of its own (``redis-server`` on ``LOAD_REDIS_PORT``, 6391, nothing saved), the fake
SMS/e-mail provider and webhook receiver (``bench.traffic.fakes``), the processes of
``Procfile.cluster`` (web1 and web2: gunicorn, 2 workers each; Celery workers for the precheck,
notifications, reports and default queues; one beat), each under ``bin/restarting`` as in
``make cluster``, with ``bench.traffic.settings``; migrate; the preparation
(``bench.traffic.prepare``); locust headless for ``LOAD_MINUTES``; the run's queued work drained
(at most ``LOAD_DRAIN_SECONDS``) while the workers still run; every process stopped (always, also on
Ctrl-C or a failure); the invariants (``bench.traffic.invariants``); ``bench/load.md``
(``bench.traffic.report``). Exit status 1 when an invariant fails. Everything of a run is in
``var/load/<UTC time>/``: the record, the fakes' records, each process's log.

Settings (environment): ``LOAD_DATABASE_URL`` (``postgres://postgres@127.0.0.1:5432/loanportal_bench``),
``LOAD_MINUTES`` (10), ``LOAD_USERS`` (40), ``LOAD_CATCH_UP_SECONDS`` (0: none; how long beat and
the workers may work off the book's backlog before the load, ``catch_up``), ``LOAD_SPAWN_RATE`` (2 a second), ``LOAD_MAX_REQUESTS``
(200,000: the run stops when reached), ``LOAD_CUSTOMERS`` (30 prepared), ``LOAD_DRAIN_SECONDS``
(180), ``LOAD_OUT`` (``bench/load.md``), ``LOAD_NOTE`` (a line for the report), the ports
``LOAD_WEB1_PORT``/``LOAD_WEB2_PORT`` (8811/8812), ``LOAD_PROVIDER_PORT``/``LOAD_RECEIVER_PORT``
(8792/8793), ``LOAD_REDIS_PORT`` (6391), or ``LOAD_REDIS_URL`` for a Redis already running.

The interface for fault drills (importable; no Django, no locust in this process)::

    from bench.traffic import run
    config = run.Config.from_env(minutes=5)          # or Config(database_url=…, web_ports=(…), …)
    topology = run.start_topology(config)            # Redis, fakes, web1, web2, workers, beat
    try:
        run.prepare(topology)                        # users, cookies, keys → run_dir/prepared.json
        load = run.start_load(topology, seconds=300) # locust in the background → run_dir/record.jsonl
        topology.kill("notifications")               # SIGKILL the worker (its supervisor restarts it)
        topology.kill("web1", worker=True)           # SIGKILL one busy gunicorn worker of web1
        topology.signal("redis", signal.SIGSTOP)     # hang Redis; SIGCONT to resume
        topology.stop_one("redis"); topology.start_one("redis")   # stop it, start it again
        load.wait()                                  # locust stops by itself after `seconds`
        run.drain(topology)                          # the run's queued work, bounded
    finally:
        topology.stop()                              # every process, always
    results = run.check(topology)                    # the invariants: {"passed", "problems", …}

``topology.processes`` maps each name (``redis``, ``provider``, ``receiver``, ``web1``, ``web2``,
``precheck``, ``notifications``, ``reports``, ``default``, ``beat``) to its ``subprocess.Popen``
(the supervisor loop, its own process group); ``topology.pids(name)`` lists the programs under it.
The record (``topology.run_dir / "record.jsonl"``) has wall-clock and monotonic times on every
line, for per-second windows (``bench.traffic.report.per_second``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
SETTINGS = "bench.traffic.settings"
WEB = ("web1", "web2")
WORKERS = ("precheck", "notifications", "reports", "default", "beat")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").replace("_", "").strip()
    return int(value) if value else default


@dataclass
class Config:
    database_url: str = "postgres://postgres@127.0.0.1:5432/loanportal_bench"
    redis_url: str = ""  # empty: start redis-server on redis_port
    redis_port: int = 6391
    web_ports: tuple[int, int] = (8811, 8812)
    provider_port: int = 8792
    receiver_port: int = 8793
    users: int = 40
    spawn_rate: float = 2.0
    minutes: float = 10.0
    max_requests: int = 200_000
    customers: int = 30
    drain_seconds: int = 180
    catch_up_seconds: int = 0
    run_dir: Path = field(
        default_factory=lambda: ROOT / "var" / "load" / f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    )

    @classmethod
    def from_env(cls, **overrides) -> Config:
        env = os.environ
        config = cls(
            database_url=env.get("LOAD_DATABASE_URL") or cls.database_url,
            redis_url=env.get("LOAD_REDIS_URL", ""),
            redis_port=_env_int("LOAD_REDIS_PORT", cls.redis_port),
            web_ports=(_env_int("LOAD_WEB1_PORT", 8811), _env_int("LOAD_WEB2_PORT", 8812)),
            provider_port=_env_int("LOAD_PROVIDER_PORT", cls.provider_port),
            receiver_port=_env_int("LOAD_RECEIVER_PORT", cls.receiver_port),
            users=_env_int("LOAD_USERS", cls.users),
            spawn_rate=float(env.get("LOAD_SPAWN_RATE") or cls.spawn_rate),
            minutes=float(env.get("LOAD_MINUTES") or cls.minutes),
            max_requests=_env_int("LOAD_MAX_REQUESTS", cls.max_requests),
            customers=_env_int("LOAD_CUSTOMERS", cls.customers),
            drain_seconds=_env_int("LOAD_DRAIN_SECONDS", cls.drain_seconds),
            catch_up_seconds=_env_int("LOAD_CATCH_UP_SECONDS", cls.catch_up_seconds),
        )
        for name, value in overrides.items():
            setattr(config, name, value)
        return config

    @property
    def hosts(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]

    @property
    def redis(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"


def say(message: str) -> None:
    print(f"[load {dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


def procfile() -> dict[str, str]:
    """Procfile.cluster's commands by name: the topology is the cluster's, not a copy of it."""
    commands = {}
    for line in (ROOT / "Procfile.cluster").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


@dataclass
class Topology:
    config: Config
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    def start_one(self, name: str) -> subprocess.Popen:
        """Start (or start again) the process ``name`` in a process group of its own."""
        log = (self.run_dir / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own commands)
            self.commands[name],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def pids(self, name: str) -> list[tuple[int, str]]:
        """(pid, command line) of every process under ``name`` (its supervisor loop first)."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return []
        try:
            root = psutil.Process(process.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return [(p.pid, " ".join(p.cmdline())) for p in found if p.is_running()]

    def signal(self, name: str, sig: int = signal.SIGKILL, *, worker: bool = False) -> int:
        """Send ``sig`` to the program ``name`` runs (not its supervisor, which starts it again
        when it ends); ``worker=True``: to one of its child processes instead (a gunicorn worker,
        a Celery pool process). Returns the pid signalled."""
        programs = [
            (pid, cmd) for pid, cmd in self.pids(name) if not cmd.startswith(("sh ", "/bin/sh ", "sleep"))
        ]
        if not programs:
            raise RuntimeError(f"{name} runs no program now")
        if worker:
            children = psutil.Process(programs[0][0]).children()
            if not children:
                raise RuntimeError(f"{name} has no worker process now")
            pid = children[0].pid
        else:
            pid = programs[0][0]
        os.kill(pid, sig)
        return pid

    def kill(self, name: str, *, worker: bool = False) -> int:
        return self.signal(name, signal.SIGKILL, worker=worker)

    def stop_one(self, name: str, timeout: float = 15) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        # The program runs in a session of its own under bin/restarting, which passes the TERM on
        # and ends its group; every descendant is noted first, so none outlives the stop.
        descendants = self._descendants(process.pid)
        with contextlib.suppress(ProcessLookupError):
            # A hung (SIGSTOP) process must see the TERM.
            os.killpg(process.pid, signal.SIGCONT)
            for each in descendants:
                with contextlib.suppress(psutil.NoSuchProcess):
                    each.send_signal(signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        # Anything still alive (a worker its parent left behind) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for each in descendants + self._descendants(process.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                each.kill()

    @staticmethod
    def _descendants(pid: int) -> list[psutil.Process]:
        try:
            return psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Every process, the web and workers first, Redis and the fakes last."""
        order = [*WEB, *WORKERS, "receiver", "provider", "redis"]
        for name in [n for n in order if n in self.processes] + [n for n in self.processes if n not in order]:
            self.stop_one(name)


def _port_free(port: int) -> None:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        raise RuntimeError(f"127.0.0.1:{port} is taken (another run?): choose other LOAD_*_PORT values")


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def _wait_healthy(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            if answer.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {seconds:.0f} s")


def django_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DEBUG", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=config.database_url,
        REDIS_URL=config.redis,
        DJANGO_SETTINGS_MODULE=SETTINGS,
        LOAD_PROVIDER_URL=f"http://127.0.0.1:{config.provider_port}",
        LOAD_RECEIVER_URL=f"http://127.0.0.1:{config.receiver_port}",
        CLUSTER_WEB1_PORT=str(config.web_ports[0]),
        CLUSTER_WEB2_PORT=str(config.web_ports[1]),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    return env


def start_topology(config: Config) -> Topology:
    """Redis (unless ``config.redis_url``), the fakes, then Procfile.cluster's processes; returns
    once both web processes answer ``/health/web/``. On a failure everything started is stopped."""
    (config.run_dir / "logs").mkdir(parents=True, exist_ok=True)
    topology = Topology(config=config, env=django_env(config))
    fakes = [PYTHON, "-m", "bench.traffic.fakes"]
    topology.commands.update(
        provider=[
            *fakes,
            "--port",
            str(config.provider_port),
            "--record",
            str(config.run_dir / "provider.jsonl"),
        ],
        receiver=[
            *fakes,
            "--port",
            str(config.receiver_port),
            "--record",
            str(config.run_dir / "receiver.jsonl"),
        ],
    )
    if not config.redis_url:
        topology.commands["redis"] = [
            "redis-server",
            "--port",
            str(config.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
    for name, command in procfile().items():
        topology.commands[name] = ["sh", "-c", command]
    for port in (*config.web_ports, config.provider_port, config.receiver_port):
        _port_free(port)
    if not config.redis_url:
        _port_free(config.redis_port)
    try:
        for name, port in (
            ("redis", config.redis_port),
            ("provider", config.provider_port),
            ("receiver", config.receiver_port),
        ):
            if name in topology.commands:
                topology.start_one(name)
                _wait_port(port)
        say(f"migrating {config.database_url.rsplit('/', 1)[-1]} (nothing to do when it is up to date)")
        subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=topology.env, check=True
        )
        for name in procfile():
            topology.start_one(name)
        for port in config.web_ports:
            _wait_healthy(f"http://127.0.0.1:{port}/health/web/")
        say(f"topology up: {', '.join(topology.processes)}; logs in {config.run_dir / 'logs'}")
    except BaseException:
        topology.stop()
        raise
    return topology


def prepare(topology: Topology) -> dict:
    """``bench.traffic.prepare`` on the target database (tasks in-process) → ``prepared.json``."""
    out = topology.run_dir / "prepared.json"
    env = dict(topology.env, LOAD_EAGER="1", LOAD_CUSTOMERS=str(topology.config.customers))
    started = time.monotonic()
    subprocess.run(  # noqa: S603
        [PYTHON, "-m", "bench.traffic.prepare", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=(topology.run_dir / "logs" / "prepare.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    say(f"prepared in {time.monotonic() - started:.0f} s")
    return json.loads(out.read_text(encoding="utf-8"))


def start_load(topology: Topology, *, seconds: float, users: int | None = None) -> subprocess.Popen:
    """locust headless in the background for ``seconds`` (it stops by itself), recording every
    request and transition to ``run_dir/record.jsonl``. ``wait()`` on the answer."""
    config = topology.config
    env = dict(
        os.environ,
        LOAD_PREPARED=str(topology.run_dir / "prepared.json"),
        LOAD_RECORD=str(topology.run_dir / "record.jsonl"),
        LOAD_HOSTS=",".join(config.hosts),
        LOAD_MAX_REQUESTS=str(config.max_requests),
    )
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "traffic" / "locustfile.py"),
        "--headless",
        "--host",
        config.hosts[0],
        "--users",
        str(users or config.users),
        "--spawn-rate",
        str(config.spawn_rate),
        "--run-time",
        f"{int(seconds)}s",
        "--stop-timeout",
        "15",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--csv",
        str(topology.run_dir / "locust"),
    ]
    say(f"locust: {shlex.join(command[3:])}")
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        stdout=(topology.run_dir / "logs" / "locust.log").open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _django(topology: Topology, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [PYTHON, "-m", "bench.traffic.invariants", *args],
        cwd=ROOT,
        env=topology.env,
        check=True,
        capture_output=True,
        text=True,
    )


def catch_up(topology: Topology, seconds: float) -> dict:
    """Before the load: let beat and the workers work off the book's backlog (a freshly seeded
    book's overdue stays and pre-checks, unsent deliveries), at most ``seconds``. Returns
    ``{"before": {...}, "left": {...}, "seconds": s}``."""
    done = _django(topology, "catch-up", str(topology.run_dir), str(seconds))
    return json.loads(done.stdout.strip().splitlines()[-1])


def drain(topology: Topology, seconds: float | None = None) -> dict:
    """Wait (bounded) until the run's deliveries, webhooks and pre-checks are done; the workers
    must still run. Returns ``{"left": {...}, "seconds": s}``."""
    done = _django(topology, "drain", str(topology.run_dir), str(seconds or topology.config.drain_seconds))
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(topology: Topology) -> dict:
    """The invariants (``bench.traffic.invariants``) → ``run_dir/invariants.json``, returned."""
    _django(topology, "check", str(topology.run_dir))
    return json.loads((topology.run_dir / "invariants.json").read_text(encoding="utf-8"))


def _interrupted(*_args: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the finally clauses stop every process


def main() -> int:
    from bench.traffic import report

    config = Config.from_env()
    for host in config.hosts:
        if not host.startswith("http://127.0.0.1:"):
            raise SystemExit("make load sends traffic to loopback only")
    # Ctrl-C and SIGTERM alike (also where a shell started this in the background with SIGINT
    # ignored): the finally clauses stop every process.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    say(f"run in {config.run_dir}; {config.users} users for {config.minutes:g} min on {config.database_url}")
    topology = start_topology(config)
    drained: dict = {}
    caught_up: dict = {}
    try:
        if config.catch_up_seconds:
            say(f"letting beat and the workers work off the book's backlog (≤ {config.catch_up_seconds} s)")
            caught_up = catch_up(topology, config.catch_up_seconds)
            say(
                f"caught up for {caught_up['seconds']} s: before {caught_up['before']}, left {caught_up['left']}"
            )
        prepared = prepare(topology)
        load_started = time.time()
        load = start_load(topology, seconds=config.minutes * 60)
        try:
            load.wait(timeout=config.minutes * 60 + 120)
        finally:
            if load.poll() is None:
                load.terminate()
                load.wait(30)
        load_ended = time.time()
        say(f"locust ended ({load.returncode}); draining the run's queued work (≤ {config.drain_seconds} s)")
        drained = drain(topology)
        say(f"drained in {drained['seconds']} s; left: {drained['left']}")
    finally:
        topology.stop()
        say("every process stopped")
    results = check(topology)
    out = Path(os.environ.get("LOAD_OUT") or ROOT / "bench" / "load.md")
    report.write(
        out,
        run_dir=config.run_dir,
        config=config,
        prepared=prepared,
        results=results,
        drained=drained,
        caught_up=caught_up,
        window=(load_started, load_ended),
        note=os.environ.get("LOAD_NOTE", ""),
    )
    say(f"wrote {out}")
    print(report.invariants_text(results))
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
