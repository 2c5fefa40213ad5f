"""Personal data in the application's tables: encrypted at rest, found by keyed hash, re-encrypted
by the key rotation command."""

from __future__ import annotations

from io import StringIO

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from applications.models import Applicant
from common import pii


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
