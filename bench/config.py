"""What every part of ``make bench`` shares: paths, the settings read from the environment
(``BENCH_*``, see bench/README.md), the log, and running ``manage.py`` against the bench database."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
STATE = ROOT / "var" / "bench"
PYTHON = sys.executable


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value.replace("_", "")) if value.strip() else default


DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/loanportal_bench"
APPLICATIONS = _env_int("BENCH_APPLICATIONS", 1_000_000)
RESEED = os.environ.get("BENCH_RESEED", "") not in ("", "0")
DURATION = _env_int("BENCH_DURATION", 10)  # seconds per wrk run
ROUNDS = _env_int("BENCH_ROUNDS", 3)  # interleaved rounds of the throughput runs; the median counts
THREADS = _env_int("BENCH_THREADS", 2)
CONNECTIONS = _env_int("BENCH_CONNECTIONS", 8)
CORES = os.cpu_count() or 1
WORKERS = _env_int("BENCH_WORKERS", 2 * CORES + 1)  # gunicorn's own rule for sync workers
PORT = _env_int("BENCH_PORT", 8765)
OUT = Path(os.environ.get("BENCH_OUT", str(BENCH / "results.md")))
LOG = BENCH / "run.log"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def say(message: str) -> None:
    line = f"[bench {dt.datetime.now():%H:%M:%S}] {message}"
    print(line, flush=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def run(command: list[str], **options: Any) -> subprocess.CompletedProcess:
    # Only this venv's Python, gunicorn and wrk, with arguments this module makes.
    return subprocess.run(command, **options)  # noqa: S603


def _redis_url() -> str:
    """Redis as in production (the cache, sessions), when one answers: ``BENCH_REDIS_URL``, else
    database 3 of the local server; empty (each worker's own memory) when none does."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    if not url:
        return ""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return url
    except OSError:
        return ""


REDIS_URL = _redis_url()


def django_env(settings: str = "loanportal.settings.bench") -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE=settings, PYTHONUNBUFFERED="1")
    env.pop("DEBUG", None)  # the settings module decides
    env.pop("REDIS_URL", None)
    if REDIS_URL:
        env["REDIS_URL"] = REDIS_URL
    return env


def manage(*args: str, settings: str = "loanportal.settings.bench", capture: bool = False) -> str:
    """Run ``manage.py``; its output goes to the terminal unless captured (then also to the log)."""
    command = [PYTHON, "manage.py", *args]
    if not capture:
        run(command, cwd=ROOT, env=django_env(settings), check=True)
        return ""
    done = run(command, cwd=ROOT, env=django_env(settings), check=True, capture_output=True, text=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(done.stdout + done.stderr)
    return done.stdout
