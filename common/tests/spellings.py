"""Other spellings of an identifier, as people type them, for the tests of every look-up.

Not a test module: the apps' tests import it (as they import factories).
"""

from __future__ import annotations

import pytest

ASCII = "0123456789"
FULL_WIDTH = "".join(chr(0xFF10 + digit) for digit in range(10))  # ０１２…９, a Chinese input method
ARABIC_INDIC = "".join(chr(0x0660 + digit) for digit in range(10))  # ٠١٢…٩
EXTENDED_ARABIC_INDIC = "".join(chr(0x06F0 + digit) for digit in range(10))  # ۰۱۲…۹, Persian and Urdu
DEVANAGARI = "".join(chr(0x0966 + digit) for digit in range(10))  # ०१२…९


def spelled(text: str, digits: str) -> str:
    """``text`` with its ASCII digits written in another script's digits."""
    return text.translate(str.maketrans(ASCII, digits))


def mixed(text: str) -> str:
    """Each ASCII digit in turn kept, full-width, Arabic-Indic and Extended Arabic-Indic."""
    scripts = (ASCII, FULL_WIDTH, ARABIC_INDIC, EXTENDED_ARABIC_INDIC)
    return "".join(
        scripts[index % 4][int(character)] if character in ASCII else character
        for index, character in enumerate(text)
    )


def full_width(text: str) -> str:
    """Letters, digits and punctuation as a Chinese input method types them in full-width mode."""
    return "".join(
        chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character for character in text
    )


# ``@SPELLINGS`` runs a test once per spelling, with ``spell`` turning an ASCII text into it.
SPELLINGS = pytest.mark.parametrize(
    "spell",
    [
        pytest.param(full_width, id="full-width"),
        pytest.param(lambda text: spelled(text, ARABIC_INDIC), id="arabic-indic"),
        pytest.param(lambda text: spelled(text, EXTENDED_ARABIC_INDIC), id="extended-arabic-indic"),
        pytest.param(mixed, id="mixed"),
    ],
)
