"""The one canonical spelling of each identifier a person types: mobile number, ID card number,
application reference and e-mail address.

Why: the same number reaches us in many spellings. A Chinese input method in full-width mode types
``１３８１２３４５６７８`` (U+FF10–FF19), a phone set to Arabic types ``١٣٨…`` (U+0660–0669) or the
Persian/Urdu ``۱۳۸…`` (U+06F0–06F9), pasting from a contact card brings invisible direction marks.
Look-ups go through keyed hashes and exact comparisons, which see bytes: two spellings would be two
people, so a blacklisted ID number typed in full-width digits would pass the pre-check and a second
account could be opened for a number that already has one.

So every identifier is canonicalised once, where it enters (form, authentication back-end, service,
search box), before it is validated, stored, hashed or looked up: NFKC, every Unicode decimal digit
as its ASCII digit, format characters (direction marks, zero-width spaces) dropped, trimmed, then the
identifier's own separators and case rule. The patterns below accept ASCII only, so a value that
passes validation is already canonical.

Plain Python, no Django: the layer under every app, and safe for data migrations to import.
"""

from __future__ import annotations

import re
import unicodedata

# A mainland China mobile number, once canonical: 11 ASCII digits starting 13–19.
PHONE_RE = re.compile(r"\A1[3-9][0-9]{9}\Z")
# A GB 11643 citizen identity number, once canonical: 17 ASCII digits and a digit or capital X.
ID_NUMBER_RE = re.compile(r"\A[0-9]{17}[0-9X]\Z")

# What may precede a mobile number and is not part of it: the country code, written either way.
_PHONE_PREFIXES = ("+86", "0086")
_PHONE_PUNCTUATION = frozenset("()")


def ascii_digits(text: str) -> str:
    """``text`` in NFKC with every decimal digit of any script written as its ASCII digit.

    NFKC alone turns full-width digits into ASCII but leaves Arabic-Indic (and Devanagari, Thai…)
    digits as they are; ``unicodedata.decimal`` knows the value of every one of them.
    """
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(
        str(value) if (value := unicodedata.decimal(character, None)) is not None else character
        for character in text
    )


def canonical_text(raw: str | None) -> str:
    """The base of every identifier: NFKC, ASCII digits, no format characters, no surrounding space."""
    text = ascii_digits(raw or "")
    if not text.isascii():
        # Format characters (Cf: U+200B zero-width space, U+202A/U+202C direction marks, U+FEFF)
        # are invisible: a number pasted from a contact card carries them.
        text = "".join(character for character in text if unicodedata.category(character) != "Cf")
    return text.strip()


def _without_separators(text: str) -> str:
    """Drop spaces, dashes of any kind (hyphen, en dash, minus sign…) and parentheses."""
    return "".join(
        character
        for character in text
        if not (
            character.isspace()
            or character in _PHONE_PUNCTUATION
            or unicodedata.category(character) == "Pd"
            or character == "\u2212"  # the minus sign is a math symbol (Sm), not a dash, but looks like one
        )
    )


def canonical_phone(raw: str | None) -> str:
    """A mobile number as its digits: ``+86 (138) 1234-5678`` and ``１３８ １２３４ ５６７８`` are
    ``13812345678``. Not validated: check the result with ``PHONE_RE``."""
    phone = _without_separators(canonical_text(raw))
    for prefix in _PHONE_PREFIXES:
        if phone.startswith(prefix):
            return phone[len(prefix) :]
    return phone


def canonical_id_number(raw: str | None) -> str:
    """An ID card number without spaces or dashes, its check character X in capitals (a full-width
    ``ｘ`` too). Not validated: check the result with ``ID_NUMBER_RE`` and the check digit."""
    return _without_separators(canonical_text(raw)).upper()


def canonical_reference(raw: str | None) -> str:
    """An application reference as stored: capitals and digits without the dash shown in the middle
    (``abcde-fghjk`` is ``ABCDEFGHJK``). Every character that is not a letter or digit is dropped, so
    ``#ABCDE FGHJK`` is found too; a letter outside ASCII stays, so the result matches no reference."""
    return "".join(character for character in canonical_text(raw).upper() if character.isalnum())


def canonical_email(raw: str | None) -> str:
    """An e-mail address with its domain in lower case; the local part keeps its case.

    The case rule, and why: the domain is case-insensitive by definition, the local part may
    legally not be, and mail is delivered to the address as the customer typed it (what Django's
    ``normalize_email`` does, and how every stored address was written). Identity is nevertheless
    case-insensitive across the whole address: the database allows one account per address
    whatever its case (``unique_email_ci`` on ``Lower(email)``), so look-ups compare it with
    ``iexact``. Not validated: use Django's ``validate_email`` on the result.
    """
    email = canonical_text(raw)
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    return f"{local}@{domain.lower()}"
