from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from applications.history import verify_chains


class Command(BaseCommand):
    help = "Check every application's history hash chain and name the first broken link of each."

    def handle(self, *args, **options) -> None:
        checked = broken = 0
        for _reference, link in verify_chains():
            checked += 1
            if link is not None:
                broken += 1
                self.stderr.write(str(link))
        if broken:
            raise CommandError(f"{broken} of {checked} application histories are broken.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} application histories verify."))
