"""An embedded PostgreSQL under ``var/pgdata``, so that `make run` and `make test` need nothing but
Python on a machine without a database server.

PostgreSQL is the portal's only database. When ``DATABASE_URL`` is not set, the Makefile runs its
commands through this script::

    .venv/bin/python bin/embedded_db.py run -- <command>   # start, run the command, stop
    .venv/bin/python bin/embedded_db.py start              # start (if needed), print DATABASE_URL
    .venv/bin/python bin/embedded_db.py stop               # stop it, if it runs

The server is pgserver's (PostgreSQL 16 binaries in a Python wheel): it listens on a Unix socket in
its data directory and on no TCP port, so it never meets a PostgreSQL on 5432. As root, pgserver
runs it as an OS user of its own (``pgserver``), which then owns the data directory.

``run`` with ``DATABASE_URL`` set simply runs the command against that server. Otherwise it starts
the embedded server, creates the ``loanportal`` database once, runs the command with
``DATABASE_URL`` naming it, and stops the server when the command ends, however it ends: Ctrl-C
reaches the command (the terminal signals the whole foreground group), which stops its own
processes (honcho: web, worker, beat), and only then is the server stopped, so nothing is cut off
mid-query. A server that was already running when ``run`` began (a `make run` in another terminal)
is left running.

A script outside the ``loanportal`` package, which Django is not: importing that package loads the
Celery app, which sets ``DJANGO_SETTINGS_MODULE`` to the development settings for every command
run from here (pytest would then ignore its test settings).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "pgdata"
DATABASE = "loanportal"
# A fast shutdown rolls back open transactions and ends the sessions; an immediate one, if that
# has not finished in time, stops at once (recovered from the log on the next start).
STOP_WAIT_SECONDS = 30


def _postmaster_pid() -> int | None:
    """The server's process id from its ``postmaster.pid``, or None when it is not running.

    A file left by a server that died (a killed machine) names a process that is gone, or one that
    now runs something else: neither is our server."""
    import psutil

    try:
        pid = int((DATA_DIR / "postmaster.pid").read_text().split("\n", 1)[0])
        command = psutil.Process(pid).cmdline()
    except (FileNotFoundError, ValueError, psutil.Error):
        return None
    return pid if str(DATA_DIR) in command else None


def start() -> tuple[str, bool]:
    """Start the server unless it runs; create the database once. Returns the URL for
    ``DATABASE_URL`` and whether this call started the server."""
    import psycopg

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    running = _postmaster_pid() is not None
    if not running:
        # A stale file would make pgserver take a dead server for a live one.
        (DATA_DIR / "postmaster.pid").unlink(missing_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset and uses /tmp: fine for pgserver's lock.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(DATA_DIR, cleanup_mode=None)
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return server.get_uri(database=DATABASE), not running


def stop() -> bool:
    """Stop the server if it runs (fast shutdown, then immediate); True if it was running."""
    pid = _postmaster_pid()
    if pid is None:
        return False
    for sig in (signal.SIGINT, signal.SIGQUIT):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while time.monotonic() < deadline:
            if _postmaster_pid() is None:
                return True
            time.sleep(0.1)
    raise RuntimeError(f"the embedded PostgreSQL (pid {pid}) did not stop; see {DATA_DIR / 'log'}")


def run(command: list[str]) -> int:
    """Run ``command`` against ``DATABASE_URL``, or against the embedded server (started for it and
    stopped after it, unless it was running already). Returns the command's exit status."""
    if os.environ.get("DATABASE_URL"):
        os.execvp(command[0], command)  # noqa: S606 - the Makefile's own command line
    interrupted: list[int] = []
    child: subprocess.Popen | None = None

    def forward(signum: int, _frame) -> None:
        # Ctrl-C: the terminal signalled the command's group too; wait for it to finish. SIGTERM
        # and SIGHUP were sent to us alone: pass them on.
        interrupted.append(signum)
        if child is not None and signum != signal.SIGINT:
            child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)  # a handler, not SIG_IGN: the command starts with defaults
    url, started = start()
    try:
        if interrupted:
            return 128 + interrupted[0]
        verb = "started" if started else "already running, left running afterwards"
        print(f"Embedded PostgreSQL {verb}: {url}", file=sys.stderr)
        child = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": url})  # noqa: S603
        status = child.wait()
        return 128 - status if status < 0 else status
    finally:
        if started:
            stop()
            print("Embedded PostgreSQL stopped.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/embedded_db.py", description=__doc__.split("\n")[0])
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("start", help="start the server unless it runs; print its DATABASE_URL")
    actions.add_parser("stop", help="stop the server if it runs")
    run_parser = actions.add_parser("run", help="run a command against it (see the module's docstring)")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "start":
        print(start()[0])
        return 0
    if args.action == "stop":
        stop()
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a command, e.g. run -- make serve")
    return run(command)


if __name__ == "__main__":
    sys.exit(main())
