"""Personal data: validated, encrypted at rest, found by keyed hash, masked on display."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from applications import pii
from applications.models import Applicant

from .factories import valid_id_number


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


def _raw_applicant_row(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, monthly_income, monthly_debt FROM applications_applicant WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_encrypted_columns_hold_no_plaintext(draft):
    applicant = draft.applicant
    raw = _raw_applicant_row(applicant.pk)
    for plaintext, stored in zip([applicant.id_number, applicant.phone, "25000", "2000"], raw, strict=True):
        assert plaintext not in stored
        assert stored.startswith("gAAAA")  # a Fernet token
    fresh = Applicant.objects.get(pk=applicant.pk)
    assert fresh.phone == "13812345678"
    assert str(fresh.monthly_income) == "25000.00"


def test_exact_lookup_by_keyed_hash(draft):
    assert Applicant.objects.get(phone_hash=pii.keyed_hash("13812345678")) == draft.applicant


def test_key_rotation_reencrypts_under_the_new_key(draft, settings):
    old_token = _raw_applicant_row(draft.applicant.pk)[0]
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]
    call_command("rotate_pii_keys", stdout=StringIO())
    new_token = _raw_applicant_row(draft.applicant.pk)[0]
    assert new_token != old_token
    # Readable with the new key alone: the old key can now be removed.
    assert Fernet(new_key.encode()).decrypt(new_token.encode()).decode() == draft.applicant.id_number
