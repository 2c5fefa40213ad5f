"""Personal data: encryption at rest, keyed hashes for exact look-up, masking, ID validation.

ID card numbers and mobile numbers are stored as Fernet tokens (keys from the environment, newest
first, so keys rotate without downtime) next to an HMAC-SHA256 of the canonical value (see
``common.identifiers``), which lets us find a row by exact phone or ID number without decrypting
the table.

Below every app (``common``): the customer's application, the account and the back office all keep
and show personal data the same way, and none of them has to import another for it. Migrations
name ``common.pii.EncryptedField`` in their field definitions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from common.identifiers import ID_NUMBER_RE, PHONE_RE, canonical_id_number, canonical_phone

# --- Encryption ---------------------------------------------------------------------------------


@cache
def _fernet() -> MultiFernet:
    keys = settings.PII_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty: personal data cannot be encrypted.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"PII_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from exc


def reset_key_cache() -> None:
    """Forget the cached keys (after settings change in tests or a rotation)."""
    _fernet.cache_clear()


@receiver(setting_changed)
def _reset_keys_on_setting_change(*, setting: str, **kwargs) -> None:
    # The keys are read once per process; ``override_settings`` and pytest's ``settings`` fixture
    # announce a change, and the next encryption must use the keys the test set.
    if setting in ("PII_ENCRYPTION_KEYS", "PII_HASH_KEY"):
        reset_key_cache()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with PII_ENCRYPTION_KEYS: a key is missing."
        ) from exc


def encrypt_bytes(data: bytes) -> bytes:
    """Fernet token of ``data`` under the newest key (the documents' data keys are wrapped so)."""
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored key cannot be decrypted with PII_ENCRYPTION_KEYS: a key is missing."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key."""
    return _fernet().rotate(token.encode()).decode()


def keyed_hash(value: str) -> str:
    if not settings.PII_HASH_KEY:
        raise ImproperlyConfigured("PII_HASH_KEY is empty: look-up hashes cannot be computed.")
    return hmac.new(settings.PII_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


class EncryptedField(models.TextField):
    """A text column that holds a Fernet token; Python code sees the plaintext value.

    Subclasses convert to a richer Python type. Encrypted values cannot be filtered or ordered on;
    use the companion keyed-hash column for exact look-ups.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return self.to_python(decrypt(value))

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


class EncryptedDecimalField(EncryptedField):
    def to_python(self, value):
        if value is None or value == "" or isinstance(value, Decimal):
            return value
        return Decimal(str(value))

    def get_prep_value(self, value):
        if isinstance(value, Decimal):
            value = format(value, "f")
        return super().get_prep_value(value)

    def formfield(self, **kwargs):
        from django import forms

        return forms.DecimalField(max_digits=12, decimal_places=2, **kwargs)


# --- Normalisation and masking ------------------------------------------------------------------


def validate_phone(raw: str) -> str:
    """The canonical number (``common.identifiers.canonical_phone``) or a ValidationError."""
    phone = canonical_phone(raw)
    if not PHONE_RE.match(phone):
        raise ValidationError(
            _("Enter a mainland China mobile number: 11 digits starting with 1."), code="phone"
        )
    return phone


def mask_phone(phone: str) -> str:
    """138****5678: the network prefix and the last four digits."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    """110101********1234: the region code and the last four characters."""
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return f"{id_number[:6]}{'*' * (len(id_number) - 10)}{id_number[-4:]}"


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳娜娜 → 欧***: the first character, which starts the family name, and a star
    for every other one, so the person recognises their application and a stranger learns nothing."""
    name = (name or "").strip()
    return f"{name[0]}{'*' * (len(name) - 1)}" if name else ""


def format_phone(phone: str) -> str:
    """138 1234 5678, the local reading grouping."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}" if len(phone) == 11 else phone


# --- GB 11643 citizen identity numbers ----------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def id_check_character(first17: str) -> str:
    """The GB 11643-1999 check character: ISO 7064 MOD 11-2 over the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


# The province-level codes of GB/T 2260 that begin a number (the first two digits). Only the
# province is checked, on purpose: a number keeps the county code of where it was issued for life,
# and counties are renamed, merged and abolished every year (北京 110103 崇文区 ended in 2010), while
# people who registered after a county was created carry its new code with an earlier birth date.
# A county table checked against the birth year (python-stdnum's ``cn.ric``) refuses both kinds of
# real customer, and the holders of 港澳台居民居住证; no province-level code has been withdrawn
# since the numbers began. 46 (海南, 1988) and 50 (重庆, 1997) are newer and sit beside the codes
# their people held before. 81/82/83 begin the residence-permit numbers of Hong Kong, Macao and
# Taiwan residents (GB 11643 numbers; 83 is not in GB/T 2260 but is what those permits carry).
ID_PROVINCE_CODES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23"]
    + [str(code) for code in range(31, 38)]
    + [str(code) for code in range(41, 47)]
    + ["50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"]
)


def birth_date_from_id(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def validate_id_number(raw: str) -> str:
    """Return the canonical 18-character number or raise ValidationError with a clear reason."""
    id_number = canonical_id_number(raw)
    if not ID_NUMBER_RE.match(id_number):
        raise ValidationError(
            _("An ID card number has 18 characters: 17 digits and a final digit or X."),
            code="id_format",
        )
    try:
        birth = birth_date_from_id(id_number)
    except ValueError:
        raise ValidationError(
            _("The date of birth inside this ID card number is not a real date."), code="id_birth"
        ) from None
    if birth.year < 1900 or birth > dt.date.today():
        raise ValidationError(
            _("The date of birth inside this ID card number is not a real date."), code="id_birth"
        )
    if id_check_character(id_number[:17]) != id_number[17]:
        raise ValidationError(
            _("This ID card number's check digit is wrong: please check for a typing mistake."),
            code="id_checksum",
        )
    # After the check digit: a typing mistake is told as one; a right check digit before an unknown
    # province means the number was made up or copied from something that is not an ID card.
    if id_number[:2] not in ID_PROVINCE_CODES:
        raise ValidationError(
            _(
                "This ID card number does not start with the code of a Chinese province or region: "
                "please copy the number from your ID card."
            ),
            code="id_region",
        )
    return id_number
