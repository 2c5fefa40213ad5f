"""The server and the load of ``make bench``: gunicorn with the bench settings, wrk against it, and
the CPU time a run costs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import BENCH, CONNECTIONS, DURATION, LOG, PORT, PYTHON, ROOT, THREADS, WORKERS, django_env, run


class Server:
    """gunicorn with the bench settings: ``WORKERS`` sync workers on 127.0.0.1:``PORT``."""

    running: Server | None = None  # the one wrk is pointed at, whose CPU time a run counts

    def __init__(self, **settings: str) -> None:
        self.process: subprocess.Popen | None = None
        self.settings = settings  # environment variables the settings read, e.g. TIMELINE_CACHE_SECONDS

    def __enter__(self) -> Server:
        gunicorn = Path(PYTHON).with_name("gunicorn")
        command = [
            str(gunicorn),
            "loanportal.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--timeout",
            "120",
            "--no-control-socket",  # several gunicorns may run on one machine (TOOLCHAIN.md)
            "--log-level",
            "warning",
            "--error-logfile",
            str(BENCH / "gunicorn.log"),
        ]
        env = {**django_env(), **self.settings}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 (this venv's gunicorn)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn stopped at start: see bench/gunicorn.log")
            try:
                if get(Target("/bench/ping/"))[0] == 200:
                    Server.running = self
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer /bench/ping/ within 60 s")

    def __exit__(self, *exc: object) -> None:
        Server.running = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class Target:
    """What wrk asks for: a path, the browser's cookies, and for a form's POST its body."""

    path: str
    cookie: str = ""
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def get(target: Target | str) -> tuple[int, dict[str, str], bytes]:
    """One request of ``target`` (a GET, or the POST of its body): status, headers, body."""
    if isinstance(target, str):
        target = Target(target)
    headers = dict(target.headers)
    if target.cookie:
        headers["Cookie"] = target.cookie
    data = None
    if target.body:
        data = target.body.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{target.path}", data=data, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


@dataclass
class Load:
    """One wrk run; ``cpu``: the CPU time it cost, in µs per request (``CpuUse``)."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    received: int  # bytes, headers included
    cpu: dict[str, float] | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    target: Target,
    *,
    rate: float = 0,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    duration: int = DURATION,
) -> Load:
    """wrk for ``DURATION`` seconds; with ``rate``, each connection pauses so that together they
    offer about ``rate`` requests a second (closed loop: a slow answer delays the next request)."""
    threads = min(threads, connections)
    env = dict(os.environ)
    env["BENCH_DELAY_MS"] = str(round(connections * 1000 / rate)) if rate else "0"
    env["BENCH_BODY"] = target.body
    command = [
        shutil.which("wrk") or "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "60s",
    ]
    command += ["-s", str(BENCH / "wrk.lua")]
    if target.cookie:
        command += ["-H", f"Cookie: {target.cookie}"]
    for name, value in target.headers:
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{PORT}{target.path}")
    server = Server.running
    meter = CpuUse(server.process.pid) if server is not None and server.process is not None else None
    with meter if meter is not None else contextlib.nullcontext():
        done = run(command, env=env, check=True, capture_output=True, text=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(" ".join(command[:-1]) + f" {target.path}\n{done.stdout}\n")
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line[len("BENCH ") :])
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["http_errors"],
        received=figures["bytes"],
        cpu=meter.per_request(figures["requests"]) if meter is not None else None,
    )


class CpuUse:
    """The CPU time spent during a run, from ``/proc``: by the server's processes (the gunicorn
    master and its workers), by PostgreSQL's processes, and by the whole machine (every process and
    the kernel, from ``/proc/stat``), so that a page's cost beyond the baseline's can be told apart
    into the web workers' Python and the database's work. Linux only; empty elsewhere."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def _processes(self) -> dict[tuple[str, int], int]:
        """CPU ticks so far of each server and PostgreSQL process, by (part, pid), and of the
        machine (``("machine", 0)``)."""
        ticks: dict[tuple[str, int], int] = {}
        try:
            entries = os.listdir("/proc")
            total = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except OSError:
            return {}
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # ended meanwhile
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            pid, parent, used = int(entry), int(fields[1]), int(fields[11]) + int(fields[12])
            if pid == self.server_pid or parent == self.server_pid:
                ticks["web", pid] = used
            elif name == "postgres" or name.startswith("postgres:"):
                ticks["postgres", pid] = used
        ticks["machine", 0] = sum(total) - total[3] - total[4]  # all but idle and I/O wait
        return ticks

    def __enter__(self) -> CpuUse:
        self.before = self._processes()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = self._processes()

    def per_request(self, requests: int) -> dict[str, float] | None:
        """µs per request by part. A process that started during the run (a worker's new database
        connection, say) counts whole; one that ended during it is missed (its time is still in
        the machine's)."""
        if not self.before or not self.after or not requests:
            return None
        used = {"web": 0, "postgres": 0, "machine": 0}
        for (part, pid), ticks in self.after.items():
            used[part] += ticks - self.before.get((part, pid), 0)
        return {part: value / self.TICK / requests * 1e6 for part, value in used.items()}


def warm(target: Target, status: int = 200) -> None:
    """Every worker imports its modules and compiles its templates before the timed runs (and on
    the warm server fills the cache as a visitor's first look does)."""
    answered, _headers, _body = get(target)
    if answered != status:
        raise RuntimeError(f"{target.path} answered {answered} (expected {status}): check bench/gunicorn.log")
    wrk(target, connections=WORKERS, threads=1, duration=2)
