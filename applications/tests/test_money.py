"""Repayment maths, checked against figures worked by hand (and by a bank's loan calculator)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from applications.money import (
    annuity_payment,
    equal_instalment_schedule,
    equal_principal_schedule,
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
