"""Every spelling of an identifier that a person could type comes out as the one canonical spelling,
and the patterns accept ASCII only."""

from __future__ import annotations

import pytest

from common.identifiers import (
    ID_NUMBER_RE,
    PHONE_RE,
    ascii_digits,
    canonical_email,
    canonical_id_number,
    canonical_phone,
    canonical_reference,
    canonical_text,
)

from .spellings import ARABIC_INDIC, ASCII, DEVANAGARI, EXTENDED_ARABIC_INDIC, FULL_WIDTH, mixed, spelled

SCRIPTS = pytest.mark.parametrize(
    "digits", [FULL_WIDTH, ARABIC_INDIC, EXTENDED_ARABIC_INDIC, DEVANAGARI], ids=lambda d: hex(ord(d[0]))
)


@SCRIPTS
def test_every_script_s_digits_are_written_in_ascii(digits):
    assert ascii_digits(digits) == ASCII
    assert ascii_digits(f"a{digits}b") == f"a{ASCII}b"


def test_ascii_digits_applies_nfkc_first():
    # Superscript two and the circled one are compatibility characters: NFKC makes them digits.
    assert ascii_digits("x²①") == "x21"


def test_canonical_text_drops_invisible_format_characters_and_surrounding_space():
    # Direction marks and a zero-width space, as a number pasted from a contact card brings them.
    assert canonical_text("\u202a\u3000138\u200b1234\ufeff5678\u202c ") == "13812345678"
    assert canonical_text(None) == ""


@SCRIPTS
def test_a_phone_in_any_script_is_its_ascii_digits(digits):
    assert canonical_phone(spelled("13812345678", digits)) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "138–1234—5678",  # en and em dashes
        "+86 138 1234 5678",
        "＋８６ １３８－１２３４－５６７８",  # all full-width, with the ideographic space
        "0086 (138) 1234 5678",
        "（１３８）１２３４５６７８",
        mixed("13812345678"),
        mixed("+86 138 1234 5678"),
        "\u202a+86 138 1234 5678\u202c",
    ],
)
def test_every_spelling_of_a_phone_is_the_same_number(raw):
    phone = canonical_phone(raw)
    assert phone == "13812345678"
    assert PHONE_RE.match(phone)


@pytest.mark.parametrize(
    "phone",
    ["1381234567", "138123456789", "12812345678", "1381234567a"],
)
def test_the_phone_pattern_refuses_what_is_not_a_mobile_number(phone):
    assert not PHONE_RE.match(canonical_phone(phone))


@SCRIPTS
def test_the_patterns_accept_ascii_digits_only(digits):
    # Unicode ``\d`` would accept these: the patterns must not, or a non-canonical spelling passes.
    assert not PHONE_RE.match(spelled("13812345678", digits))
    assert not ID_NUMBER_RE.match(spelled("11010519491231002X", digits))


def test_the_phone_pattern_refuses_a_trailing_newline():
    assert not PHONE_RE.match("13812345678\n")


@SCRIPTS
def test_an_id_number_in_any_script_is_its_ascii_digits(digits):
    assert canonical_id_number(spelled("11010519491231002X", digits)) == "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105-19491231-002x",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and a full-width capital X
        "１１０１０５１９４９１２３１００２ｘ",  # full-width small x
        mixed("11010519491231002x"),
    ],
)
def test_every_spelling_of_an_id_number_is_the_same_number(raw):
    id_number = canonical_id_number(raw)
    assert id_number == "11010519491231002X"
    assert ID_NUMBER_RE.match(id_number)


@pytest.mark.parametrize(
    "raw",
    [
        "ABCDE-23456",
        "abcde-23456",
        " abcde 23456 ",
        "#ABCDE23456",
        "ＡＢＣＤＥ－２３４５６",
        "ａｂｃｄｅ２３４５６",
        f"ABCDE-{spelled('23456', ARABIC_INDIC)}",
        f"abcde{mixed('23456')}",
    ],
)
def test_every_spelling_of_a_reference_is_the_stored_reference(raw):
    assert canonical_reference(raw) == "ABCDE23456"


def test_a_reference_keeps_a_letter_outside_ascii_so_it_matches_nothing():
    reference = canonical_reference("ABCDΕ-23456")  # a Greek capital epsilon, looking like E
    assert reference == "ABCDΕ23456" and not reference.isascii()


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("li.na@example.cn", "li.na@example.cn"),
        (" Li.Na@Example.CN ", "Li.Na@example.cn"),  # the domain in lower case, the local part as typed
        ("ｌｉ．ｎａ＠ｅｘａｍｐｌｅ．ｃｎ", "li.na@example.cn"),  # full-width, the @ too
        ("Ｌｉ．Ｎａ＠Ｅｘａｍｐｌｅ．ＣＮ", "Li.Na@example.cn"),
        (f"wang{spelled('1990', ARABIC_INDIC)}@example.cn", "wang1990@example.cn"),
        (f"wang{mixed('1990')}@example.cn", "wang1990@example.cn"),
        ("\u200bli.na@example.cn\u200b", "li.na@example.cn"),
        ("not an address", "not an address"),
    ],
)
def test_an_email_is_trimmed_nfkc_with_ascii_digits_and_its_domain_in_lower_case(raw, canonical):
    assert canonical_email(raw) == canonical


@pytest.mark.parametrize(
    "function", [canonical_phone, canonical_id_number, canonical_reference, canonical_email]
)
@pytest.mark.parametrize(
    "raw", ["＋８６ １３８－１２３４－５６７８", "Ｌｉ．Ｎａ＠Ｅｘａｍｐｌｅ．ＣＮ", "ａｂｃｄｅ-٢٣٤٥٦"]
)
def test_canonicalising_twice_changes_nothing(function, raw):
    once = function(raw)
    assert function(once) == once
