"""The automatic pre-check: PRODUCT.md's rules as pure functions, each with a reason code.

Rules, in order: age 18–65 at the end of the loan; down payment at least the product minimum for the
powertrain (20%, new-energy 15%); not blacklisted; a credit score of at least ``MIN_SCORE`` with no
more than one overdue account; debt-to-income (existing debts, the larger of stated and reported,
plus this loan's instalment at the product's highest rate) at most ``MAX_DEBT_TO_INCOME``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .bureau import CreditReport
from .money import annuity_payment

MIN_AGE = 18
MAX_AGE_AT_LOAN_END = 65
MAX_DEBT_TO_INCOME = Decimal("0.55")
MIN_SCORE = 550
MAX_OVERDUE_ACCOUNTS = 1


@dataclass(frozen=True)
class PrecheckInput:
    birth_date: dt.date
    today: dt.date
    term_months: int
    vehicle_price: Decimal
    down_payment: Decimal
    min_down_payment_ratio: Decimal
    requested_amount: Decimal
    max_rate: Decimal
    monthly_income: Decimal
    stated_monthly_debt: Decimal
    blacklisted: bool
    report: CreditReport


@dataclass
class PrecheckResult:
    reasons: list[str] = field(default_factory=list)  # reason codes, most decisive first
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.reasons


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):  # 31 January + 1 month is the last day of February
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def evaluate(data: PrecheckInput) -> PrecheckResult:
    result = PrecheckResult()
    loan_end = add_months(data.today, data.term_months)
    age_now, age_at_end = age_on(data.birth_date, data.today), age_on(data.birth_date, loan_end)
    result.facts.update(age_now=str(age_now), age_at_loan_end=str(age_at_end))
    if age_now < MIN_AGE or age_at_end > MAX_AGE_AT_LOAN_END:
        result.reasons.append("age_out_of_range")

    ratio = (data.down_payment / data.vehicle_price).quantize(Decimal("0.0001"))
    result.facts.update(down_payment_ratio=str(ratio), minimum_ratio=str(data.min_down_payment_ratio))
    # Compared exactly, not on the rounded ratio: 39,999 on 200,000 is below 20%.
    if data.down_payment < data.vehicle_price * data.min_down_payment_ratio:
        result.reasons.append("down_payment_too_low")

    if data.blacklisted:
        result.reasons.append("risk_check_failed")

    result.facts.update(score=str(data.report.score), overdue_accounts=str(data.report.overdue_accounts))
    if data.report.score < MIN_SCORE or data.report.overdue_accounts > MAX_OVERDUE_ACCOUNTS:
        result.reasons.append("credit_history")

    instalment = annuity_payment(data.requested_amount, data.max_rate, data.term_months)
    debts = max(data.stated_monthly_debt, data.report.monthly_debt) + instalment
    dti = (debts / data.monthly_income).quantize(Decimal("0.0001")) if data.monthly_income > 0 else None
    result.facts.update(new_instalment=str(instalment), debt_to_income=str(dti))
    if dti is None or dti > MAX_DEBT_TO_INCOME:
        result.reasons.append("dti_too_high")
    return result
