"""Personal data: validated, encrypted, hashed for look-up and masked on display, the same for every
app (the storage in real tables is tested with the models that hold it)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError

from common import pii


def valid_id_number(region: str, birth: str, serial: str) -> str:
    first17 = f"{region}{birth}{serial}"
    return first17 + pii.id_check_character(first17)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example, check character X
        valid_id_number("110101", "19900307", "123"),
        valid_id_number("310104", "19851120", "456"),
    ],
)
def test_valid_id_numbers_pass(number):
    assert pii.validate_id_number(number) == number


def test_check_character_follows_iso_7064_mod_11_2():
    # Hand-checked: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over 11010519491231002 sum to 167;
    # 167 mod 11 = 2, which maps to X.
    assert pii.id_check_character("11010519491231002") == "X"


def test_lower_case_x_and_spaces_are_normalised():
    assert pii.validate_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "id_checksum"),  # last character wrong
        ("11010519491231002", "id_format"),  # 17 characters
        ("1101051949123100XX", "id_format"),
        ("110105194913310025", "id_birth"),  # month 13
        ("110105202902300021", "id_birth"),  # 30 February
    ],
)
def test_invalid_id_numbers_are_refused_with_a_reason(number, code):
    with pytest.raises(ValidationError) as excinfo:
        pii.validate_id_number(number)
    assert excinfo.value.code == code


def test_birth_date_comes_from_the_id_number():
    import datetime as dt

    assert pii.birth_date_from_id("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678"])
def test_mobile_numbers_are_normalised(raw):
    assert pii.validate_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "023-12345678", ""])
def test_non_mobile_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        pii.validate_phone(raw)


def test_masking():
    assert pii.mask_id_number("11010519491231002X") == "110105********002X"
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("") == ""
    assert pii.format_phone("13812345678") == "138 1234 5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张伟", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧***"),  # a compound family name keeps only its first character
        (" 李四 ", "李*"),  # stray spaces are not letters of the name
        ("", ""),
    ],
)
def test_a_name_shows_its_first_character_and_a_star_for_every_other(name, masked):
    # The /track/ answer and the back-office queue both show names this way.
    assert pii.mask_name(name) == masked


def test_an_encrypted_value_reads_back_and_holds_no_plaintext():
    token = pii.encrypt("13812345678")
    assert "13812345678" not in token
    assert pii.decrypt(token) == "13812345678"


def test_a_token_from_an_unknown_key_is_refused_with_a_clear_message():
    stranger = Fernet(Fernet.generate_key()).encrypt(b"13812345678").decode()
    with pytest.raises(ImproperlyConfigured, match="a key is missing"):
        pii.decrypt(stranger)


def test_changed_keys_are_used_at_once(settings):
    # The keys are cached per process; a settings change (a test, a rotation) must not leave the
    # old ones in use.
    before = pii.keyed_hash("13812345678")
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key]
    settings.PII_HASH_KEY = "another-hash-key"
    assert pii.keyed_hash("13812345678") != before
    assert Fernet(new_key.encode()).decrypt(pii.encrypt("13812345678").encode()) == b"13812345678"


def test_the_keyed_hash_finds_the_same_number_and_only_it():
    assert pii.keyed_hash("13812345678") == pii.keyed_hash("13812345678")
    assert pii.keyed_hash("13812345678") != pii.keyed_hash("13812345679")
