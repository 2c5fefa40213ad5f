"""The servers of ``make faults``: a PostgreSQL cluster and a Redis of its own, and the processes
the drill finds and signals.

They are the drill's alone: a cluster under ``var/faults/pg`` on port 5441 (``FAULTS_PG_PORT``) and
a redis-server on port 6392 (``FAULTS_REDIS_PORT``), started and stopped here, so stopping, hanging
or restarting them disturbs nobody; the machine's shared PostgreSQL (5432) and Redis (6379) are
never touched. Every process signalled is one this run started (a descendant of its own
processes), found through ``/proc``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / "var" / "faults"
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5441"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6392"))
DATABASE = "loanportal_faults"
SMS_HOLD = STATE / "sms-hold"  # seconds the fake provider holds an SMS's answer back (fault 1)


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def wait_for(condition, *, timeout: float, step: float = 0.2, what: str = "") -> float:
    """Poll ``condition`` until true; the seconds it took. RuntimeError after ``timeout``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"gave up after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(step)


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    # Only the PostgreSQL and Redis programs of this machine, with arguments made here.
    return subprocess.run(command, check=True, **options)  # noqa: S603


def _pg_bin() -> Path:
    """The newest PostgreSQL's programs (Debian: /usr/lib/postgresql/<version>/bin), else PATH's."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name or 0)
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if not initdb:
        raise RuntimeError("make faults needs PostgreSQL's server programs: apt-get install postgresql")
    return Path(initdb).parent


class Postgres:
    """A throw-away cluster: trust authentication, TCP on 127.0.0.1:``PG_PORT`` only. initdb and
    the server refuse to run as root, so as root they run as the ``postgres`` user."""

    def __init__(self, data: Path = STATE / "pg", port: int = PG_PORT) -> None:
        self.data = data
        self.port = port
        self.bin = _pg_bin()
        self.log = STATE / "postgresql.log"
        self.user = "postgres" if os.geteuid() == 0 else ""

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _as_owner(self, *command: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else list(command)

    def _pg_ctl(self, *args: str) -> None:
        _run(self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), *args), stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.stop_leftover()
        if listening(self.port):
            raise RuntimeError(f"port {self.port} is taken by a server this drill did not start")
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        self.log.touch()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.data, self.log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        _run(
            self._as_owner(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            ),
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data}"
            " -c max_connections=200 -c shared_buffers=128MB"
        )
        self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
        _run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE]
        )

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is ended, then the server starts again."""
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def stop_leftover(self) -> None:
        """A cluster a crashed earlier run of this drill left running (its own data directory)."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()


class Redis:
    """redis-server on 127.0.0.1:``REDIS_PORT``, as Redis is configured by default: a snapshot
    written at shutdown and read at start (so a stopped Redis comes back with what it held)."""

    def __init__(self, port: int = REDIS_PORT, folder: Path = STATE / "redis") -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if listening(self.port):
            raise RuntimeError(f"port {self.port} is taken by a Redis this drill did not start")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--logfile",
            str(STATE / "redis.log"),
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603
        wait_for(lambda: listening(self.port), timeout=20, what="redis-server to listen")

    def stop(self) -> None:
        """SIGTERM: Redis saves its snapshot and exits, as at a shutdown."""
        if self.process is None:
            return
        if self.paused:
            self.resume()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: hung. The kernel still accepts connections; nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False


# --- The processes this run started -------------------------------------------------------------


@dataclass
class Proc:
    pid: int
    ppid: int
    cmdline: str
    cpu_ticks: int = 0
    children: list[Proc] = field(default_factory=list)


def _read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: the fields follow the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # killed, not yet reaped by its parent: gone
        return None
    return Proc(
        pid=pid, ppid=int(fields[1]), cmdline=cmdline.strip(), cpu_ticks=int(fields[11]) + int(fields[12])
    )


def descendants(root: int) -> list[Proc]:
    """Every living process under ``root`` (not ``root`` itself), parents before their children."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (proc := _read_proc(int(entry.name))):
            table[proc.pid] = proc
    for proc in table.values():
        if proc.ppid in table:
            table[proc.ppid].children.append(proc)
    found: list[Proc] = []
    todo = list(table[root].children) if root in table else []
    while todo:
        proc = todo.pop(0)
        found.append(proc)
        todo.extend(proc.children)
    return found


def find(roots: list[int], *needles: str) -> list[Proc]:
    """Processes under ``roots`` whose command line holds every needle."""
    return [p for root in roots for p in descendants(root) if all(n in p.cmdline for n in needles)]


def busiest(procs: list[Proc], *, over: float = 0.5) -> Proc:
    """The process that used the most CPU in the next ``over`` seconds (one serving a request)."""
    before = {p.pid: p.cpu_ticks for p in procs}
    time.sleep(over)
    now = {p.pid: (q.cpu_ticks if (q := _read_proc(p.pid)) else 0) for p in procs}
    return max(procs, key=lambda p: now[p.pid] - before[p.pid])


def kill(procs: list[Proc]) -> list[int]:
    """SIGKILL each (a lost host: nothing is cleaned up); the pids signalled."""
    killed = []
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
            killed.append(proc.pid)
    return killed


# --- The fake provider, able to hold an SMS's answer back ---------------------------------------


def serve_provider(port: int, record: Path) -> None:
    """``bench.traffic.fakes``' provider; a POST /sms is recorded at once (the provider has it) and
    answered after the seconds ``SMS_HOLD`` says (0 or missing: at once)."""
    from .fakes import Record, make_handler

    base = make_handler(Record(record))

    class Holding(base):  # type: ignore[misc, valid-type]
        def _answer(self, status: int, body: dict | None = None) -> None:
            if self.command == "POST" and self.path.startswith("/sms"):
                with contextlib.suppress(OSError, ValueError):
                    time.sleep(float(SMS_HOLD.read_text() or 0))
            super()._answer(status, body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Holding)
    server.daemon_threads = True
    server.serve_forever()
