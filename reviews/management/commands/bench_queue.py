"""``manage.py bench_queue``: how long the work queue takes on the current database.

Renders the application changelist (admin view, ORM and template; no middleware) as real back-office
users, a few times each, and prints for the first page and for filtered pages: the median and worst
wall time, the median time spent waiting on the database and the median CPU time of this process
(on a busy machine wall time exceeds their sum), and the number of queries. The target is under
300 ms a page on 100,000 applications (``manage.py seed_demo --applications 100000``, then
``manage.py assign_unassigned``) on PostgreSQL.
"""

from __future__ import annotations

import statistics
import time

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.roles import Role
from applications.models import Dealer, LoanApplication

TARGET_MS = 300


class Command(BaseCommand):
    help = "Time the work queue's first page and filtered pages on the current database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per page (default 5).")
        parser.add_argument(
            "--user",
            action="append",
            dest="users",
            metavar="USERNAME",
            help="Back-office user to run as (repeatable; default: the first manager and reviewer).",
        )

    def handle(self, *args, repeat: int, users: list[str] | None, **options) -> None:
        model_admin = admin.site._registry[LoanApplication]
        people = self._people(users)
        dealer = Dealer.objects.order_by("pk").first()
        pages = [
            ("first page", {}),
            ("assigned to me", {"queue": "mine"}),
            ("unassigned in my stages", {"queue": "unassigned"}),
            ("at risk", {"sla": "at_risk"}),
            ("breached", {"sla": "breached"}),
        ]
        if dealer is not None:
            pages.append(("one dealer", {"dealer__id__exact": str(dealer.pk)}))
        self.stdout.write(
            f"{LoanApplication.objects.count():,} applications · "
            f"{repeat} runs per page: median / worst wall time (median db wait, cpu)"
        )
        slow = []
        with translation.override("zh-hans"):
            for user in people:
                self.stdout.write(f"\nas {user.get_username()}:")
                for label, params in pages:
                    timing = self._time(model_admin, user, params, repeat)
                    median, worst = statistics.median(timing["wall"]), max(timing["wall"])
                    flag = "" if median < TARGET_MS else "  ← over target"
                    if flag:
                        slow.append(f"{user.get_username()}: {label}")
                    self.stdout.write(
                        f"  {label:<24} {median:6.1f} / {worst:6.1f} ms"
                        f"  (db {statistics.median(timing['db']):5.1f}, cpu {statistics.median(timing['cpu']):5.1f})"
                        f"  {timing['queries']:2d} queries {timing['rows']:4d} rows{flag}"
                    )
        self.stdout.write("")
        if slow:
            self.stdout.write(self.style.WARNING(f"over {TARGET_MS} ms: {', '.join(slow)}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"every page under {TARGET_MS} ms"))

    def _people(self, usernames: list[str] | None) -> list:
        User = get_user_model()
        if usernames:
            found = list(User.objects.filter(username__in=usernames))
            if len(found) != len(set(usernames)):
                raise CommandError(f"no such user among {usernames}")
            return found
        people = []
        for role in (Role.MANAGER, Role.REVIEWER):
            user = (
                User.objects.filter(groups__name=role, is_active=True, is_staff=True).order_by("pk").first()
            )
            if user is not None:
                people.append(user)
        if not people:
            raise CommandError("no active manager or reviewer: run seed_demo first, or pass --user")
        return people

    def _request(self, user, params: dict):
        request = RequestFactory().get("/admin/applications/loanapplication/", params)
        request.user = user
        request.session = SessionBase()
        request._messages = None
        return request

    def _render(self, model_admin, user, params: dict):
        # A fresh user object each run, as each request has: no permission cache carried over.
        request = self._request(get_user_model().objects.get(pk=user.pk), params)
        response = model_admin.changelist_view(request)
        response.render()
        return response

    def _time(self, model_admin, user, params: dict, repeat: int) -> dict:
        with CaptureQueriesContext(connection) as captured:  # the warm-up run counts the queries
            response = self._render(model_admin, user, params)
        timing = {
            "queries": len(captured.captured_queries) - 1,  # less the fresh user, which a request has too
            "rows": response.content.count(b'class="action-select"'),
            "wall": [],
            "db": [],
            "cpu": [],
        }
        for _ in range(repeat):
            waited = [0.0]

            def timed(execute, sql, params, many, context, waited=waited):
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    waited[0] += time.perf_counter() - started

            cpu, wall = time.process_time(), time.perf_counter()
            with connection.execute_wrapper(timed):
                self._render(model_admin, user, params)
            timing["wall"].append((time.perf_counter() - wall) * 1000)
            timing["cpu"].append((time.process_time() - cpu) * 1000)
            timing["db"].append(waited[0] * 1000)
        return timing
