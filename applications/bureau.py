"""The credit bureau (征信) behind one interface. A sandbox adapter serves development, tests and
the demo: deterministic from the ID number, no network. A real adapter plugs in by setting
``CREDIT_BUREAU_ADAPTER`` to its dotted path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class BureauUnavailable(Exception):
    """A transient failure: the caller retries later."""


@dataclass(frozen=True)
class CreditReport:
    score: int  # 350–950, higher is better
    monthly_debt: Decimal  # repayments on loans and cards the bureau knows of
    overdue_accounts: int
    source: str


class CreditBureau(Protocol):
    def report(self, *, id_number: str, full_name: str) -> CreditReport: ...


class SandboxBureau:
    """Deterministic answers from the ID number's digits.

    The sequence digits (positions 15–17) steer the outcome so that demo data and tests can choose:
    ``9xx`` — poor history (score below 500); ``8xx`` — two overdue accounts; anything else — a good
    record with a score between 600 and 900 derived from a hash of the number.
    """

    def report(self, *, id_number: str, full_name: str) -> CreditReport:
        digest = int(hashlib.sha256(id_number.encode()).hexdigest()[:8], 16)
        serial = id_number[14:17]
        if serial.startswith("9"):
            return CreditReport(420 + digest % 60, Decimal("1500.00"), 3, "sandbox")
        if serial.startswith("8"):
            return CreditReport(560 + digest % 40, Decimal("3000.00"), 2, "sandbox")
        return CreditReport(600 + digest % 300, Decimal(digest % 5) * Decimal("500.00"), 0, "sandbox")


@cache
def _bureau(path: str) -> CreditBureau:
    return import_string(path)()


def credit_bureau() -> CreditBureau:
    return _bureau(getattr(settings, "CREDIT_BUREAU_ADAPTER", "applications.bureau.SandboxBureau"))
