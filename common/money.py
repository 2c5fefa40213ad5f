"""Money to the fen: the one rounding rule and the one way an amount is written.

Every amount a person sees, on the customer pages, in a form's message or in the back office, is
rounded to the fen (0.01) half-up, as a bank rounds, and written ``¥140,000.00``: the yuan sign,
thousands separators and two decimals, the same in Chinese and English. Python's own ``format`` of a
Decimal rounds half-even (``¥0.12`` for 0.125), so nothing formats money except through here.

Plain Python, below every app: the core's loan arithmetic (``applications.money``) rounds with
``to_fen``; the template filters ``yuan`` and ``fen`` are these functions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_fen(amount: Decimal) -> Decimal:
    """The amount rounded to the fen, half-up: 0.005 → 0.01, 2.344999 → 2.34."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def fen(amount: Decimal | int | str | None) -> str:
    """140,000.00: to the fen with thousands separators and no sign, for a table whose header or a
    sentence whose text already names the currency; "" when there is no amount."""
    if amount is None or amount == "":
        return ""
    return f"{to_fen(Decimal(amount)):,.2f}"


def yuan(amount: Decimal | int | str | None, *, empty: str = "") -> str:
    """¥140,000.00: to the fen with thousands separators. ``empty`` stands for a missing amount:
    nothing on the customer's pages, a dash in the back office, where a blank cell looks unfinished."""
    written = fen(amount)
    return f"¥{written}" if written else empty
