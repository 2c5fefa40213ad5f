"""Money is rounded and written one way on every page: the customer's, a form's message and the back
office's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.money import fen, to_fen, yuan


def test_rounding_to_the_fen_is_half_up():
    assert to_fen(Decimal("0.005")) == Decimal("0.01")
    assert to_fen(Decimal("2.344999")) == Decimal("2.34")


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (Decimal("140000"), "¥140,000.00"),  # the offer page and the queue
        (Decimal("4251.455"), "¥4,251.46"),
        (Decimal("0.125"), "¥0.13"),  # half-up: Python's own format says ¥0.12 (half-even)
        (Decimal("2.345"), "¥2.35"),  # ... and ¥2.34 here
        (Decimal("1000000"), "¥1,000,000.00"),
        (Decimal("0"), "¥0.00"),
        (20000, "¥20,000.00"),
        ("30000.5", "¥30,000.50"),
    ],
)
def test_an_amount_is_written_in_yuan_to_the_fen_with_thousands_separators(amount, written):
    assert yuan(amount) == written


def test_a_missing_amount_is_blank_for_customers_and_a_dash_in_the_back_office():
    assert yuan(None) == ""
    assert yuan(None, empty="—") == "—"
    assert yuan(Decimal("0"), empty="—") == "¥0.00"  # zero is an amount, not a missing one


def test_fen_is_the_same_figure_without_the_sign():
    assert fen(Decimal("4251.455")) == "4,251.46"
    assert fen(None) == ""
