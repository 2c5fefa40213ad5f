"""Display helpers the back office's queue, page and inlines share."""

from __future__ import annotations


def yuan(amount) -> str:
    """¥140,000.00: to the fen with thousands separators, the same in both languages."""
    return "—" if amount is None else f"¥{amount:,.2f}"


def mask_name(name: str) -> str:
    """张*, 欧阳**: the family name's first character and a star for each other one."""
    name = (name or "").strip()
    return f"{name[0]}{'*' * (len(name) - 1)}" if name else ""
