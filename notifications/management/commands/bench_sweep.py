"""Time one SLA sweep over the open applications against one raw COUNT(*) with the same condition.

A pass is the core's ``sla_advance`` (the new SLA states, set-based) and the notifications it leads
to, in one transaction, as the beat's task runs it.

    DATABASE_URL=postgres://… python manage.py seed_demo --applications 100000 --add --no-progress
    DATABASE_URL=postgres://… python manage.py bench_sweep

The sweep runs in a transaction that is rolled back (pass --keep to commit), so the benchmark can be
repeated on the same data. Three passes:

- backlog: the first sweep over the data: the stages that crossed a threshold since the last pass
  (the seed leaves the clock as of its own moment, so on a seeded book the minutes since the seed;
  after an outage of beat, the outage's): it changes at most SLA_SWEEP_BATCH of them and writes
  their notifications; the
  sweep task queues the next pass at once until the backlog is worked off, and the command times
  all those passes too ("whole backlog": a one-off, after loading data or a long outage of beat);
- next beat: one sweep interval later, the stages that crossed a threshold in that minute (the
  operating point: beat runs the sweep every SLA_SWEEP_INTERVAL seconds);
- idle: the same moment again, nothing new.
"""

from __future__ import annotations

import datetime as dt
import resource
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from applications.models import LoanApplication
from applications.services.sla import sla_changing_condition
from applications.sla import STAFF_CLOCK_STAGES
from notifications.services import sla_sweep


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark the SLA sweep against a raw SELECT count(*) with the same condition."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--keep", action="store_true", help="Commit the sweep instead of rolling back.")

    def handle(self, *args, keep: bool, **options) -> None:
        now = timezone.now()
        stages = sorted(STAFF_CLOCK_STAGES)
        open_count = LoanApplication.objects.filter(stage__in=stages, stage_due_at__isnull=False).count()
        self.stdout.write(f"Open applications on the staff clock: {open_count:,}")

        # The condition the core's pass (applications.services.sla_advance) looks for, counted.
        condition, params = sla_changing_condition(now=now)
        sql = " ".join(["SELECT count(*) FROM", LoanApplication._meta.db_table, "WHERE", condition])
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            (changing,) = cursor.fetchone()
        count_seconds = time.perf_counter() - started
        self.stdout.write(
            f"SELECT count(*), same condition: {changing:,} rows in {count_seconds * 1000:,.1f} ms"
        )

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        timings = []
        backlog_seconds, backlog_passes, backlog_total = 0.0, 0, {}
        try:
            with transaction.atomic():
                interval = dt.timedelta(seconds=float(getattr(settings, "SLA_SWEEP_INTERVAL", 60)))
                started = time.perf_counter()
                result = sla_sweep(now=now)
                timings.append((time.perf_counter() - started, result))
                backlog_seconds, backlog_passes = timings[0][0], 1
                backlog_total = result.as_dict()
                while result.more:  # what the task's follow-up passes do, one after the other
                    started = time.perf_counter()
                    result = sla_sweep(now=now)
                    backlog_seconds += time.perf_counter() - started
                    backlog_passes += 1
                    for key, value in result.as_dict().items():
                        backlog_total[key] += value
                for moment in (now + interval, now + interval):
                    started = time.perf_counter()
                    result = sla_sweep(now=moment)
                    timings.append((time.perf_counter() - started, result))
                if not keep:
                    raise _Rollback
        except _Rollback:
            pass
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for label, (seconds, result) in zip(("backlog", "next beat", "idle"), timings, strict=True):
            ratio = seconds / count_seconds if count_seconds else float("inf")
            self.stdout.write(
                f"SLA sweep, {label} pass: {seconds * 1000:,.1f} ms ({ratio:.1f}× the count) {result.as_dict()}"
            )
        ratio = backlog_seconds / count_seconds if count_seconds else float("inf")
        self.stdout.write(
            f"SLA sweep, whole backlog: {backlog_seconds * 1000:,.1f} ms in {backlog_passes} passes"
            f" of at most {settings.SLA_SWEEP_BATCH:,} ({ratio:.1f}× the count) {backlog_total}"
        )
        self.stdout.write(
            f"Peak memory (process max RSS): {rss:,.0f} MB, {rss - rss_before:,.0f} MB more than before"
        )
        self.stdout.write("Rolled back." if not keep else "Committed.")
