"""``manage.py reports_backfill [--since DATE]``: the SLA report's rollups computed afresh from the
history (``reports.selectors.rollup_backfill``): the stays of every day and the funnel and
approval factors of every submission day, one INSERT … SELECT per table and 31 days."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports import selectors


class Command(BaseCommand):
    help = (
        "Roll up the stays of every past day (Asia/Shanghai) and the funnel and approval factors of "
        "every submission day into the SLA report's rollups, from --since or from the first stay and "
        "the first submission. Safe to run again: each day is replaced whole."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            default=None,
            metavar="YYYY-MM-DD",
            help="First day to recompute (default: the first stay's). Ignored before the first backfill.",
        )

    def handle(self, *args, since: str | None, **options) -> None:
        try:
            first = dt.date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from exc
        started = time.perf_counter()
        days, rows = selectors.rollup_backfill(since=first)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Rolled up {days} days ({rows:,} rows) in {seconds:.1f} s.")
