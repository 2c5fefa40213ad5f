"""bin/embedded_db.py, the embedded PostgreSQL of `make run` and `make test` without DATABASE_URL.

Starting the real server is what `make test` does on a bare machine and what CI's bare-machine
smoke checks (.ci/smoke-bare); here: what decides whether it runs, and a set DATABASE_URL winning.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bin" / "embedded_db.py"


@pytest.fixture
def embedded_db(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("embedded_db", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DATA_DIR", tmp_path / "pgdata")
    module.DATA_DIR.mkdir()
    return module


def _pid_file(module, pid: int) -> None:
    (module.DATA_DIR / "postmaster.pid").write_text(f"{pid}\n{module.DATA_DIR}\n")


def test_a_pid_file_left_by_a_server_that_died_is_not_a_running_server(embedded_db):
    finished = subprocess.Popen(["true"])  # noqa: S607
    finished.wait()
    _pid_file(embedded_db, finished.pid)

    assert embedded_db._postmaster_pid() is None
    assert embedded_db.stop() is False  # nothing to stop, nothing signalled


def test_a_pid_file_naming_another_live_program_is_not_a_running_server(embedded_db):
    # After a crash the number may belong to anything by now: here, this test run.
    _pid_file(embedded_db, os.getpid())

    assert embedded_db._postmaster_pid() is None
    assert embedded_db.stop() is False


def test_with_a_database_url_the_command_runs_against_that_server():
    command = [sys.executable, "-c", "import os, sys; print(os.environ['DATABASE_URL']); sys.exit(3)"]
    url = "postgres://postgres@db.example.cn:5432/loanportal"

    result = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "run", "--", *command],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout.strip()) == (3, url)
    assert "Embedded PostgreSQL" not in result.stderr
