"""``manage.py assign_unassigned``: give every waiting application in a staff stage its owner.

For files that entered a staff stage while nobody was eligible (no one in the role, everyone
inactive, a rule switched off), after adding staff or changing rules, and for generated demo data.
Each goes through ``services.assignment_auto``, so each assignment is a history event; running it
twice assigns nothing the second time.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accounts.roles import STAFF_ROLES
from applications.models import LoanApplication, StageDefinition
from reviews import services
from reviews.models import Assignment


class Command(BaseCommand):
    help = "Assign, by the rules, every application in a staff stage that has no open assignment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many applications.")

    def handle(self, *args, limit: int | None, **options) -> None:
        stages = list(
            StageDefinition.objects.filter(owner_role__in=sorted(STAFF_ROLES)).values_list("stage", flat=True)
        )
        waiting = (
            LoanApplication.objects.filter(stage__in=stages)
            .exclude(pk__in=Assignment.objects.filter(released_at__isnull=True).values("application_id"))
            .order_by("stage_due_at", "pk")
            .values_list("pk", flat=True)
        )
        ids = list(waiting[:limit] if limit else waiting)
        assigned = 0
        for number, pk in enumerate(ids, start=1):
            application = LoanApplication.objects.get(pk=pk)
            if services.assignment_auto(application=application, now=timezone.now()) is not None:
                assigned += 1
            if number % 1000 == 0:
                self.stdout.write(f"  {number:,} of {len(ids):,}…")
        self.stdout.write(
            self.style.SUCCESS(f"Assigned {assigned:,} of {len(ids):,} waiting applications.")
            + (f" {len(ids) - assigned:,} have nobody eligible." if assigned < len(ids) else "")
        )
