"""``manage.py seed_demo``: demo accounts, dealers and applications for ``make run``.

Run on every start, so it is idempotent: accounts and dealers are created only when missing, and
applications only when there are no demo applications yet (``--add`` adds another batch).
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from accounts.roles import Role
from applications.models import LoanApplication, PartnerStepRequirement
from applications.services.partner_steps import partner_steps_request
from demo.bulk import demo_applications_generate
from demo.people import (
    DEMO_PASSWORD,
    PERSONAS,
    demo_accounts_ensure,
    demo_applications_count,
    demo_dealers_ensure,
)

DEFAULT_APPLICATIONS = 300


class Command(BaseCommand):
    help = (
        "Create the demo accounts (one per role, password in the README), three dealers and demo "
        "applications with realistic histories. Development only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--applications",
            type=int,
            default=None,
            metavar="N",
            help=f"How many applications to generate (default {DEFAULT_APPLICATIONS}).",
        )
        parser.add_argument(
            "--add",
            action="store_true",
            help="Add N more applications even though demo applications already exist.",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a reproducible mix.")
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="Applications per bulk insert (default 2000)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="Processes that prepare batches while this one inserts (default: one per CPU, at most 4).",
        )
        parser.add_argument(
            "--bulk-load",
            action="store_true",
            help=(
                "PostgreSQL: set the written tables' foreign keys and plain indexes aside during the "
                "load and rebuild them at the end (faster for large seeds; locks those tables meanwhile)."
            ),
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def handle(self, *args, applications: int | None, add: bool, seed: int | None, **options) -> None:
        if not settings.DEBUG:
            # The demo accounts share a password published in the README: never on a real server.
            raise CommandError(
                "seed_demo creates accounts with a published password and runs only with DEBUG on "
                "(the development settings). Refusing because DEBUG is off."
            )
        count = DEFAULT_APPLICATIONS if applications is None else applications
        if count < 0 or options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--applications must be zero or more; --batch-size and --workers at least 1.")

        dealers, dealers_created = demo_dealers_ensure()
        users, accounts_created = demo_accounts_ensure(dealers=dealers)
        self.stdout.write(
            f"Demo accounts: {accounts_created} created, {len(users) - accounts_created} already there. "
            f"Dealers: {dealers_created} created, {len(dealers) - dealers_created} already there."
        )

        existing = demo_applications_count()
        if existing and not add:
            self.stdout.write(
                f"{existing} demo applications already exist: none added. "
                "Pass --add (with --applications N) to add more."
            )
            self._print_sign_in()
            return

        self.stdout.write(f"Generating {count} applications…")
        started = time.perf_counter()
        with tqdm(
            total=count,
            unit="app",
            file=self.stderr._out,  # the raw stream: OutputWrapper would end every redraw with a newline
            disable=True if options["no_progress"] else None,  # None: only on a terminal
            dynamic_ncols=True,
        ) as progress:
            result = demo_applications_generate(
                count=count,
                users=users,
                dealers=dealers,
                customer_files=not existing,
                seed=seed,
                batch_size=options["batch_size"],
                workers=options["workers"],
                bulk_load=options["bulk_load"],
                on_progress=progress.update,
            )
        elapsed = time.perf_counter() - started
        rate = result.applications / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.applications:,} applications ({result.events:,} history events, "
                f"{result.documents:,} documents, {result.buyer_accounts:,} walk-in buyer accounts) "
                f"in {elapsed:.1f} s: {rate:,.0f} applications per second (seed {result.seed})."
            )
        )
        if options["bulk_load"]:
            self.stdout.write(
                f"Indexes and foreign keys rebuilt in {result.rebuild_seconds:.1f} s (included)."
            )
        if not existing:
            asked = self._partner_steps_request()
            self.stdout.write(f"Partner steps asked for on the demo customers' open files: {asked}.")
        by_stage = ", ".join(f"{stage} {n}" for stage, n in sorted(result.by_stage.items()))
        self.stdout.write(f"By stage: {by_stage}.")
        self._print_sign_in()

    def _partner_steps_request(self) -> int:
        """The demo customers' files in a stage with partner steps ask for them now, as a file
        entering the stage does (the seed writes its history directly, without the stage hooks):
        their timelines show the sub-steps, which the sandbox partner then moves on
        (``PARTNER_SANDBOX``, README "Partner steps")."""
        stages = set(PartnerStepRequirement.objects.filter(is_active=True).values_list("stage", flat=True))
        customers = [persona.username for persona in PERSONAS if persona.role == Role.CUSTOMER]
        files = LoanApplication.objects.filter(
            customer__username__in=customers, stage__in=sorted(stages), partner_steps__isnull=True
        ).values_list("pk", "stage")
        now = timezone.now()
        return sum(len(partner_steps_request(application_id=pk, stage=stage, now=now)) for pk, stage in files)

    def _print_sign_in(self) -> None:
        names = ", ".join(persona.username for persona in PERSONAS)
        self.stdout.write(f"Sign in as any of {names} with the password {DEMO_PASSWORD}.")
