"""Repayment maths, checked against figures worked by hand (and by a bank's loan calculator)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from applications.money import (
    annual_percentage_rate,
    annuity_payment,
    due_dates,
    equal_instalment_schedule,
    equal_principal_schedule,
    months_between,
    repayment_plan,
    total_interest,
)


def test_equal_instalment_of_100000_at_6_percent_over_12_months():
    # r = 0.005; (1.005)^12 = 1.0616778118645; 100000 × 0.005 × 1.06167781 / 0.06167781 = 8606.64
    assert annuity_payment(Decimal("100000"), Decimal("0.06"), 12) == Decimal("8606.64")
    schedule = equal_instalment_schedule(Decimal("100000"), Decimal("0.06"), 12)
    first = schedule[0]
    assert (first.payment, first.interest, first.principal) == (
        Decimal("8606.64"),
        Decimal("500.00"),
        Decimal("8106.64"),
    )
    assert first.balance == Decimal("91893.36")
    assert all(row.payment == Decimal("8606.64") for row in schedule[:-1])
    # Month 11 leaves 8563.87; the last payment repays it with 42.82 interest: 8606.69, absorbing
    # the fen lost to rounding in the eleven equal payments.
    assert schedule[10].balance == Decimal("8563.87")
    assert schedule[-1].payment == Decimal("8606.69")
    assert schedule[-1].balance == Decimal("0.00")
    assert sum(row.principal for row in schedule) == Decimal("100000.00")
    assert total_interest(schedule) == Decimal("3279.73")


def test_equal_principal_of_100000_at_6_percent_over_12_months():
    schedule = equal_principal_schedule(Decimal("100000"), Decimal("0.06"), 12)
    # 100000 / 12 = 8333.33 a month; the first month's interest is 500.00.
    assert schedule[0].principal == Decimal("8333.33")
    assert schedule[0].payment == Decimal("8833.33")
    # The last month repays the remaining 8333.37 with 41.67 interest.
    assert schedule[-1].principal == Decimal("8333.37")
    assert schedule[-1].interest == Decimal("41.67")
    assert sum(row.principal for row in schedule) == Decimal("100000.00")
    assert total_interest(schedule) == Decimal("3250.00")
    payments = [row.payment for row in schedule]
    assert payments == sorted(payments, reverse=True)


@pytest.mark.parametrize("months", [12, 24, 36, 48, 60])
@pytest.mark.parametrize("rate", [Decimal("0.0299"), Decimal("0.0588"), Decimal("0.0899")])
def test_principal_repaid_equals_the_loan_exactly(months, rate):
    for build in (equal_instalment_schedule, equal_principal_schedule):
        schedule = build(Decimal("187654.32"), rate, months)
        assert len(schedule) == months
        assert sum(row.principal for row in schedule) == Decimal("187654.32")
        assert schedule[-1].balance == 0
        for row in schedule:
            assert row.payment == row.principal + row.interest
            assert row.payment.as_tuple().exponent == -2


def test_zero_rate_spreads_the_principal():
    assert annuity_payment(Decimal("1200"), Decimal("0"), 12) == Decimal("100.00")


def test_the_pages_write_money_as_common_money_does():
    # ``{{ amount|yuan }}`` and ``|fen`` are ``common.money``'s functions: half-up to the fen, with
    # thousands separators; a missing amount leaves the customer's page blank.
    page = Template("{% load timeline %}{{ a|yuan }} {{ a|fen }} [{{ b|yuan }}]").render(
        Context({"a": Decimal("1234.125"), "b": None})
    )
    assert page == "¥1,234.13 1,234.13 []"


# --- Dates ----------------------------------------------------------------------------------------


def test_instalments_fall_on_the_payout_day_clamped_to_short_months_without_drifting():
    assert due_dates(dt.date(2027, 1, 31), 4) == [
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),  # back to the 31st: each month is clamped on its own
        dt.date(2027, 4, 30),
        dt.date(2027, 5, 31),
    ]
    assert due_dates(dt.date(2027, 12, 15), 2) == [dt.date(2028, 1, 15), dt.date(2028, 2, 15)]


def test_february_of_a_leap_year_has_its_29th():
    assert due_dates(dt.date(2028, 1, 30), 2) == [dt.date(2028, 2, 29), dt.date(2028, 3, 30)]
    assert due_dates(dt.date(2027, 1, 20), 2, day_of_month=31)[0] == dt.date(2027, 2, 28)


@pytest.mark.parametrize(
    ("paid_out", "day", "dates"),
    [
        # A month and five days, then monthly.
        (dt.date(2027, 1, 20), 25, [dt.date(2027, 2, 25), dt.date(2027, 3, 25), dt.date(2027, 4, 25)]),
        # 15 February is less than a month away: the first is 15 March.
        (dt.date(2027, 1, 20), 15, [dt.date(2027, 3, 15), dt.date(2027, 4, 15), dt.date(2027, 5, 15)]),
        (dt.date(2027, 1, 15), 15, [dt.date(2027, 2, 15), dt.date(2027, 3, 15), dt.date(2027, 4, 15)]),
        # A month after 31 January is 28 February, which is also the 30th clamped: due that day.
        (dt.date(2027, 1, 31), 30, [dt.date(2027, 2, 28), dt.date(2027, 3, 30), dt.date(2027, 4, 30)]),
        (dt.date(2027, 11, 30), 1, [dt.date(2028, 1, 1), dt.date(2028, 2, 1), dt.date(2028, 3, 1)]),
    ],
)
def test_a_fixed_repayment_day_starts_at_least_one_month_after_the_payout(paid_out, day, dates):
    assert due_dates(paid_out, 3, day_of_month=day) == dates


def test_months_between_counts_calendar_months_then_the_share_of_the_next():
    assert months_between(dt.date(2027, 1, 31), dt.date(2027, 2, 28)) == 1.0
    assert months_between(dt.date(2027, 1, 31), dt.date(2027, 3, 31)) == 2.0
    assert months_between(dt.date(2027, 1, 15), dt.date(2027, 2, 1)) == 17 / 31
    assert months_between(dt.date(2027, 1, 20), dt.date(2027, 3, 15)) == 1 + 23 / 28  # 20 Feb → 15 Mar


# --- The annualised rate by the IRR method -------------------------------------------------------


@pytest.mark.parametrize("method", ["equal_instalment", "equal_principal"])
@pytest.mark.parametrize(("rate", "months"), [("0.0299", 12), ("0.0588", 36), ("0.0899", 60), ("0.06", 1)])
def test_paid_exactly_monthly_both_schedules_give_the_nominal_rate_back(method, rate, months):
    plan = repayment_plan(
        method=method,
        amount=Decimal("187654.32"),
        annual_rate=Decimal(rate),
        months=months,
        paid_out_on=dt.date(2027, 1, 31),  # month ends included: a month is a month, whatever its days
    )
    assert plan.apr == Decimal(rate)


def test_a_one_month_loan_with_a_longer_first_period_by_hand():
    # 10,000 at 12 %: 10,100.00 due on 1 March for money paid out on 2 January, 1 + 27/28 months
    # later (2 Feb → 1 Mar is 27 of February's 28 days). (1 + i)^(55/28) = 1.01, so
    # i = 1.01^(28/55) − 1 = 0.0050785 a month, 6.09 % a year.
    plan = repayment_plan(
        method="equal_instalment",
        amount=Decimal("10000"),
        annual_rate=Decimal("0.12"),
        months=1,
        paid_out_on=dt.date(2027, 1, 2),
        day_of_month=1,
    )
    assert [(row.due_on, row.payment) for row in plan.rows] == [(dt.date(2027, 3, 1), Decimal("10100.00"))]
    assert plan.apr == Decimal("0.0609")


def test_a_first_period_longer_than_a_month_lowers_the_annualised_rate():
    kwargs = {"amount": Decimal("140000"), "annual_rate": Decimal("0.0588"), "months": 36}
    monthly = repayment_plan(
        method="equal_instalment", paid_out_on=dt.date(2027, 1, 15), day_of_month=15, **kwargs
    )
    later = repayment_plan(
        method="equal_instalment", paid_out_on=dt.date(2027, 1, 20), day_of_month=15, **kwargs
    )
    assert monthly.apr == Decimal("0.0588")
    # 36 payments of 4,251.46 from 15 March, 1 + 23/28 months after 20 January: 5.6226 %.
    assert later.apr == Decimal("0.0562")


def test_the_rate_is_rounded_half_up_to_a_hundredth_of_a_percent():
    # One payment of 1,005.00 a month after 1,000.00 is lent: exactly 0.5 % a month, 6.00 %.
    assert annual_percentage_rate(
        Decimal("1000"), dt.date(2027, 1, 1), [(dt.date(2027, 2, 1), Decimal("1005.00"))]
    ) == Decimal("0.0600")
    # 1,004.99: 0.499 % a month, 5.988 % a year, written 5.99 %.
    assert annual_percentage_rate(
        Decimal("1000"), dt.date(2027, 1, 1), [(dt.date(2027, 2, 1), Decimal("1004.99"))]
    ) == Decimal("0.0599")


def test_a_loan_at_zero_percent_has_an_annualised_rate_of_zero():
    plan = repayment_plan(
        method="equal_principal",
        amount=Decimal("1200"),
        annual_rate=Decimal("0"),
        months=12,
        paid_out_on=dt.date(2027, 1, 1),
    )
    assert str(plan.apr) == "0.0000"
    assert plan.total_repaid == Decimal("1200.00")


@pytest.mark.parametrize("method", ["equal_instalment", "equal_principal"])
def test_the_plan_totals_are_the_sums_of_the_rounded_instalments(method):
    plan = repayment_plan(
        method=method,
        amount=Decimal("100000"),
        annual_rate=Decimal("0.06"),
        months=12,
        paid_out_on=dt.date(2027, 3, 10),
    )
    assert plan.total_interest == Decimal("3279.73" if method == "equal_instalment" else "3250.00")
    assert (
        plan.total_repaid
        == sum(row.payment for row in plan.rows)
        == Decimal("100000.00") + plan.total_interest
    )
    assert [row.due_on for row in plan.rows][::11] == [dt.date(2027, 4, 10), dt.date(2028, 3, 10)]
