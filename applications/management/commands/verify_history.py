from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from applications.history import verify_chains, verify_record


class Command(BaseCommand):
    help = (
        "Check every application's history hash chain and name the first broken link of each; or, "
        "with --reference, --entry and --fingerprint, check a record a customer kept (the printable "
        "offer): that application's chain holds and its entry N carries that fingerprint."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reference", help="the application's reference, as printed")
        parser.add_argument("--entry", type=int, help="the number of history entries printed")
        parser.add_argument("--fingerprint", help="the fingerprint printed")

    def handle(self, *args, **options) -> None:
        record = [options["reference"], options["entry"], options["fingerprint"]]
        if any(value is not None for value in record):
            if any(value is None for value in record):
                raise CommandError(
                    "A record is checked with all three: --reference, --entry and --fingerprint."
                )
            problem = verify_record(
                reference=options["reference"], entry=options["entry"], fingerprint=options["fingerprint"]
            )
            if problem:
                raise CommandError(f"The record does not verify: {problem}.")
            self.stdout.write(self.style.SUCCESS("The record verifies: the history holds and carries it."))
            return
        checked = broken = 0
        for _reference, link in verify_chains():
            checked += 1
            if link is not None:
                broken += 1
                self.stderr.write(str(link))
        if broken:
            raise CommandError(f"{broken} of {checked} application histories are broken.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} application histories verify."))
