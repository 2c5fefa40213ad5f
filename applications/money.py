"""Loan arithmetic in Decimal. Every amount a customer sees is rounded to the fen (0.01) half-up.

Rounding points: each month's interest is rounded on the outstanding balance; the instalment (equal
instalments) or the principal share (equal principal) is rounded once; the last payment takes the
whole remaining balance, so the principal repaid always equals the loan exactly. The rounding rule
itself (``to_fen``) and how amounts are written (``yuan``) live in ``common.money``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from common.money import to_fen

MONTHS_PER_YEAR = 12


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return annual_rate / MONTHS_PER_YEAR


def annuity_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The equal monthly instalment (等额本息), rounded to the fen: P·r(1+r)^n / ((1+r)^n − 1)."""
    if months <= 0:
        raise ValueError("months must be positive")
    with localcontext() as ctx:
        ctx.prec = 34
        r = monthly_rate(annual_rate)
        if r == 0:
            return to_fen(principal / months)
        growth = (1 + r) ** months
        return to_fen(principal * r * growth / (growth - 1))


@dataclass(frozen=True)
class Instalment:
    number: int
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal  # outstanding after this payment


def _schedule(principal: Decimal, annual_rate: Decimal, months: int, principal_share) -> list[Instalment]:
    r = monthly_rate(annual_rate)
    balance = to_fen(principal)
    rows = []
    for number in range(1, months + 1):
        interest = to_fen(balance * r)
        share = balance if number == months else min(principal_share(interest), balance)
        balance -= share
        rows.append(Instalment(number, share + interest, share, interest, balance))
    return rows


def equal_instalment_schedule(principal: Decimal, annual_rate: Decimal, months: int) -> list[Instalment]:
    """等额本息: the same payment every month; the last one absorbs the rounding."""
    payment = annuity_payment(principal, annual_rate, months)
    return _schedule(principal, annual_rate, months, lambda interest: payment - interest)


def equal_principal_schedule(principal: Decimal, annual_rate: Decimal, months: int) -> list[Instalment]:
    """等额本金: the same principal every month plus interest on what is left; falling payments."""
    share = to_fen(principal / months)
    return _schedule(principal, annual_rate, months, lambda interest: share)


def total_interest(schedule: list[Instalment]) -> Decimal:
    return sum((row.interest for row in schedule), Decimal("0.00"))
