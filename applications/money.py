"""Loan arithmetic in Decimal. Every amount a customer sees is rounded to the fen (0.01) half-up.

Rounding points: each month's interest is rounded on the outstanding balance; the instalment (equal
instalments) or the principal share (equal principal) is rounded once; the last payment takes the
whole remaining balance, so the principal repaid always equals the loan exactly. The rounding rule
itself (``to_fen``) and how amounts are written (``yuan``) live in ``common.money``.

Dates (``due_dates``) and the annualised rate by the IRR method (``annual_percentage_rate``) turn a
schedule into the dated plan the offer states (``repayment_plan``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext

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
    due_on: dt.date | None = None  # set by ``repayment_plan``


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


# --- Dates --------------------------------------------------------------------------------------


def _months_on(day: dt.date, months: int, *, on_day: int = 0) -> dt.date:
    """``months`` calendar months after ``day``, on day ``on_day`` of that month (``day``'s own
    day when 0), or on the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(on_day or day.day, calendar.monthrange(year, month)[1]))


def due_dates(paid_out_on: dt.date, months: int, *, day_of_month: int = 0) -> list[dt.date]:
    """The date each instalment falls due, for money paid out on ``paid_out_on``.

    Instalments fall due once a month on the repayment day, ``day_of_month`` (0: the day of the
    payout), or on the month's last day when the month is shorter; each month is clamped on its
    own, so the day never drifts (31 → 28 Feb → 31 Mar). The first is the first repayment day at
    least one calendar month after the payout: a first period is never shorter than the month
    whose interest it carries. Paid out on 20 January with repayment day 15, the first instalment
    is due on 15 March (15 February is less than a month away); with repayment day 25, on
    25 February.
    """
    first = _months_on(paid_out_on, 1, on_day=day_of_month)
    skip = 1 if first < _months_on(paid_out_on, 1) else 0
    return [_months_on(paid_out_on, n + skip, on_day=day_of_month) for n in range(1, months + 1)]


def months_between(start: dt.date, end: dt.date) -> float:
    """The time from ``start`` to ``end`` in months: whole calendar months (31 January to
    28 February is one), then the days left as a share of the next month's days from there."""
    whole = (end.year - start.year) * 12 + end.month - start.month
    while whole > 0 and _months_on(start, whole) > end:
        whole -= 1
    anchor = _months_on(start, whole)
    rest = (end - anchor).days
    if rest == 0:
        return float(whole)
    return whole + rest / (_months_on(start, whole + 1) - anchor).days


# --- The annualised rate (IRR method) -----------------------------------------------------------

# Bisection stops when the monthly rate is known to within this: a million times finer than the
# 0.005 % (0.00005 a year) that could move the rate written to 0.01 %.
IRR_TOLERANCE = 1e-12
PERCENT_HUNDREDTH = Decimal("0.0001")  # 0.01 % as a fraction


def annual_percentage_rate(
    amount: Decimal, paid_out_on: dt.date, payments: list[tuple[dt.date, Decimal]]
) -> Decimal:
    """年化利率 by the IRR method, as the PBoC's 2021 announcement on stating annualised rates asks:
    the monthly rate ``i`` at which the payments, each discounted by (1 + i)^t for the ``t``
    months (``months_between``) from the payout to its due date, are worth exactly the amount
    lent, times 12 (not compounded), rounded half-up to 0.01 % (0.0588 is 5.88 %).

    Paid exactly monthly, both schedules give the nominal rate back; a first period longer than a
    month (a fixed repayment day) lowers it. There are no fees, so the amount lent is the loan.
    Solved in float by bisection (``IRR_TOLERANCE``): the payments are positive, so the
    discounted value falls as the rate rises and there is exactly one answer.
    """
    flows = [(months_between(paid_out_on, day), float(payment)) for day, payment in payments]
    lent = float(amount)

    def surplus(rate: float) -> float:
        return sum(payment / (1 + rate) ** months for months, payment in flows) - lent

    low, high = -0.5, 1.0
    while surplus(high) > 0:  # more than 100 % a month: widen until the answer is inside
        high *= 2
    while high - low > IRR_TOLERANCE:
        middle = (low + high) / 2
        if surplus(middle) > 0:
            low = middle
        else:
            high = middle
    monthly = (low + high) / 2
    annual = Decimal(repr(monthly * MONTHS_PER_YEAR)).quantize(PERCENT_HUNDREDTH, rounding=ROUND_HALF_UP)
    return annual + 0  # a loan at 0 % comes out as -0.0000 from the float's last bit: written 0


# --- The dated plan the offer states ------------------------------------------------------------

SCHEDULES: dict[str, Callable[[Decimal, Decimal, int], list[Instalment]]] = {
    "equal_instalment": equal_instalment_schedule,
    "equal_principal": equal_principal_schedule,
}


@dataclass(frozen=True)
class RepaymentPlan:
    method: str  # a key of ``SCHEDULES`` (``choices.RepaymentMethod``)
    rows: list[Instalment]  # dated
    paid_out_on: dt.date
    total_interest: Decimal
    total_repaid: Decimal  # every payment: the loan plus the interest
    apr: Decimal  # annualised by the IRR method on these dates

    @property
    def first_payment(self) -> Decimal:
        return self.rows[0].payment

    @property
    def last_payment(self) -> Decimal:
        return self.rows[-1].payment


def repayment_plan(
    *,
    method: str,
    amount: Decimal,
    annual_rate: Decimal,
    months: int,
    paid_out_on: dt.date,
    day_of_month: int = 0,
) -> RepaymentPlan:
    """The schedule of ``method`` with a due date on every instalment (``due_dates``), its totals
    and its annualised rate. Each instalment is rounded to the fen as the schedule rounds it; the
    totals are sums of those rounded amounts, so they add up to the fen on paper."""
    rows = [
        replace(row, due_on=day)
        for row, day in zip(
            SCHEDULES[method](amount, annual_rate, months),
            due_dates(paid_out_on, months, day_of_month=day_of_month),
            strict=True,
        )
    ]
    interest = total_interest(rows)
    return RepaymentPlan(
        method=method,
        rows=rows,
        paid_out_on=paid_out_on,
        total_interest=interest,
        total_repaid=sum((row.payment for row in rows), Decimal("0.00")),
        apr=annual_percentage_rate(amount, paid_out_on, [(row.due_on, row.payment) for row in rows]),
    )
