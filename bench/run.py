"""``make bench``: seed PostgreSQL with a million applications (once), measure the portal against
its baselines on this machine, print the table and write it to bench/results.md.

    .venv/bin/python -m bench.run

Steps: the database (created and migrated when missing; seeded up to ``BENCH_APPLICATIONS`` with
``seed_demo --bulk-load``, then vacuumed and analysed), the in-process part (``bench/prepare.py``:
the benchmark customer's files, sign-in cookies, every page's query counts, the SLA report's SQL),
the SLA sweep (``manage.py bench_sweep``), then the pages over HTTP (``bench/pages.py``: gunicorn
with the bench settings, warm then cold, and wrk). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from .config import (
    APPLICATIONS,
    CONNECTIONS,
    CORES,
    DATABASE_URL,
    DURATION,
    LOG,
    OUT,
    PYTHON,
    REDIS_URL,
    RESEED,
    ROOT,
    ROUNDS,
    SHANGHAI,
    STATE,
    THREADS,
    WORKERS,
    django_env,
    manage,
    run,
    say,
)
from .figures import report_rows, sweep_rows, table
from .pages import measure

# --- The database -------------------------------------------------------------------------------


def admin_connection() -> psycopg.Connection:
    """The server's maintenance database, to create or drop the benchmark's."""
    return psycopg.connect(DATABASE_URL, dbname="postgres", autocommit=True)


def database_name() -> str:
    return conninfo.conninfo_to_dict(DATABASE_URL)["dbname"]


def database_ready() -> dict[str, Any]:
    """Create (or, with BENCH_RESEED=1, recreate) and migrate the database, then seed it up to
    ``APPLICATIONS``; a database that holds enough already is re-used as it is."""
    name = database_name()
    with admin_connection() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and RESEED:
            say(f"BENCH_RESEED: dropping database {name}")
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            say(f"creating database {name}")
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            (STATE / f"seed-{name}.json").unlink(missing_ok=True)
    say("migrating")
    manage("migrate", "--noinput", capture=True)
    with psycopg.connect(DATABASE_URL, autocommit=True) as db:
        have = db.execute("SELECT count(*) FROM applications_loanapplication").fetchone()[0]
    seed_file = STATE / f"seed-{name}.json"
    seeded: dict[str, Any] = json.loads(seed_file.read_text()) if seed_file.exists() else {}
    missing = APPLICATIONS - have
    if missing > 0:
        say(f"seeding {missing:,} applications ({have:,} there already): seed_demo --bulk-load")
        started = time.perf_counter()
        # seed_demo runs only with DEBUG on, so under the development settings (same keys as the
        # bench settings); its progress bar shows on a terminal.
        manage(
            "seed_demo",
            "--applications",
            str(missing),
            "--add",
            "--bulk-load",
            settings="loanportal.settings.development",
        )
        seconds = time.perf_counter() - started
        say(f"seeded {missing:,} applications in {seconds:,.1f} s; VACUUM ANALYZE")
        vacuum_started = time.perf_counter()
        with psycopg.connect(DATABASE_URL, autocommit=True) as db:
            db.execute("VACUUM ANALYZE")
        seeded = {
            "applications": missing,
            "seconds": round(seconds, 1),
            "vacuum_seconds": round(time.perf_counter() - vacuum_started, 1),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "this_run": True,
        }
        STATE.mkdir(parents=True, exist_ok=True)
        seed_file.write_text(json.dumps({**seeded, "this_run": False}))
    else:
        # VACUUM too: cheap on tables it has seen, and needed after a migration rewrote rows.
        say(f"re-using {have:,} applications (BENCH_RESEED=1 seeds afresh); VACUUM ANALYZE")
        with psycopg.connect(DATABASE_URL, autocommit=True) as db:
            db.execute("VACUUM ANALYZE")
    with psycopg.connect(DATABASE_URL, autocommit=True) as db:
        counts = db.execute(
            "SELECT (SELECT count(*) FROM applications_loanapplication),"
            " (SELECT count(*) FROM applications_stageevent), (SELECT count(*) FROM applications_document),"
            " current_setting('server_version')"
        ).fetchone()
    return {
        "applications": counts[0],
        "events": counts[1],
        "documents": counts[2],
        "postgres": counts[3],
        "seed": seeded,
    }


# --- The machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{memory / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    system = platform.platform()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        names = dict(
            line.split("=", 1)
            for line in os_release.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        system = names.get("PRETTY_NAME", system).strip('"') + f", kernel {platform.release()}"
    wrk_version = run([shutil.which("wrk") or "wrk", "-v"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    return {
        "CPU": f"{cpu}, {CORES} cores",
        "RAM": ram,
        "OS": system,
        "Python": platform.python_version(),
        "Django": metadata.version("Django"),
        "gunicorn": metadata.version("gunicorn"),
        "psycopg": metadata.version("psycopg"),
        "wrk": wrk_version.split(" Copyright")[0].strip(),
    }


def main() -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    if shutil.which("wrk") is None:
        say("wrk is missing: apt-get install -y wrk (make bench does it)")
        return 2
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    data = database_ready()

    say("in-process: the benchmark customer's applications, sessions, query counts, SLA report SQL")
    prepared_file = STATE / "prepared.json"
    run([PYTHON, "-m", "bench.prepare", str(prepared_file)], cwd=ROOT, env=django_env(), check=True)
    prepared = json.loads(prepared_file.read_text())
    rows_report = report_rows(prepared["report"])
    rows_sweep = sweep_rows()
    # The sweep's passes were rolled back, leaving some hundred thousand dead notification and
    # delivery rows behind statistics that still describe the table before them: the planner then
    # scanned the whole table for one customer's unread count (30 ms a page). Tidied up as
    # autovacuum would, before the pages are measured.
    say("VACUUM ANALYZE after the rolled-back sweep")
    with psycopg.connect(DATABASE_URL, autocommit=True) as db:
        for written in (
            "notifications_notification",
            "notifications_delivery",
            "applications_loanapplication",
        ):
            db.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(written)))
    rows = measure(prepared) + rows_report + rows_sweep
    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started

    host = machine()
    seed = data["seed"]
    if seed.get("this_run"):
        seeded = f"seeded in this run: {seed['applications']:,} applications in {seed['seconds']:,.0f} s (`seed_demo --bulk-load`), VACUUM ANALYZE {seed['vacuum_seconds']:,.0f} s"
    elif seed:
        seeded = f"re-used; seeded {seed['at']} ({seed['applications']:,} applications in {seed['seconds']:,.0f} s, `seed_demo --bulk-load`)"
    else:
        seeded = "re-used (seeded before this harness kept a record)"
    local = started_at.astimezone(SHANGHAI)
    lines = [
        "# Benchmark results",
        "",
        f"`make bench`, {local:%Y-%m-%d %H:%M} Asia/Shanghai ({started_at:%Y-%m-%d %H:%M} UTC); the whole run took "
        f"{elapsed / 60:,.1f} min. How to run it and what each figure means: [README.md](README.md).",
        "",
        "## Machine and set-up",
        "",
        *[f"- **{key}**: {value}" for key, value in host.items()],
        f"- **PostgreSQL**: {data['postgres']} on 127.0.0.1, database `{database_name()}`",
        f"- **Data**: {data['applications']:,} applications, {data['events']:,} history events, "
        f"{data['documents']:,} documents; {seeded}",
        f"- **Server**: gunicorn, {WORKERS} sync workers, settings `loanportal.settings.bench` (DEBUG off, "
        f"cached templates, persistent connections), {'cache and sessions in Redis' if REDIS_URL else 'cache in local memory per worker, sessions in the database (no Redis answered)'}; "
        "the cold server the same with `BENCH_COLD=1` (every request starts with every cache empty)",
        f"- **Load**: wrk on the same machine, {THREADS} threads, {CONNECTIONS} connections, {DURATION} s a run after "
        f"a 2 s warm-up, {ROUNDS} interleaved rounds per server (each figure its median round); the staff "
        "queue: one connection, requests back to back; latency as wrk measures it",
        f"- **Benchmark customer**: `{prepared['customer']}`, six files built through the services "
        f"in {prepared['built_seconds']:,.0f} s",
        f"- **Load average** (1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in load_before)}, at end "
        f"{', '.join(f'{x:.2f}' for x in load_after)}",
        "",
        "## Figures",
        "",
        table(rows),
        "",
    ]
    failed = [row.measure for row in rows if row.passed is False]
    if failed:
        lines += ["Below target: " + "; ".join(failed) + ".", ""]
    text = "\n".join(lines)
    OUT.write_text(text, encoding="utf-8")
    print()
    print(table(rows))
    print()
    say(f"written to {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT} ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
