"""Writes for customer accounts."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from common.identifiers import canonical_email, canonical_text
from common.pii import keyed_hash, validate_phone

from .models import User


class IdentifierTaken(Exception):
    """Another account already signs in with this mobile number or email address."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Identifier:
    kind: Literal["phone", "email"]
    value: str  # canonical (common.identifiers): 11 ASCII digits, or the email with its domain in lower case


def identifier_parse(raw: str) -> Identifier:
    """Decide whether the customer typed an email address (it has an @) or a mobile number, and
    return its canonical spelling: ``１３８…`` and ``13８…`` are the number ``138…``, so one number
    cannot open a second account by being typed differently.

    Raises ValidationError with the message to show next to the field.
    """
    raw = canonical_text(raw)
    if "@" in raw:
        email = canonical_email(raw)
        validate_email(email)
        return Identifier("email", email)
    if any(character.isalpha() for character in raw):
        raise ValidationError(
            _("Enter a mobile number (11 digits starting with 1) or an email address."),
            code="identifier",
        )
    return Identifier("phone", validate_phone(raw))


def identifier_taken(identifier: Identifier) -> bool:
    users = User._default_manager
    if identifier.kind == "email":
        return users.filter(email__iexact=identifier.value).exists()
    return users.filter(phone_hash=keyed_hash(identifier.value)).exists()


def _new_username() -> str:
    """A meaningless user name: usernames show in admin lists, so never the phone number or email."""
    while True:
        username = f"u{secrets.token_hex(6)}"
        if not User._default_manager.filter(username=username).exists():
            return username


def _supported_language(language: str | None) -> str:
    try:
        code = translation.get_supported_language_variant(language or "")
    except LookupError:
        return settings.LANGUAGE_CODE
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@transaction.atomic
def user_sign_up(
    *,
    phone_or_email: str,
    password: str,
    name: str = "",
    language: str | None = None,
) -> User:
    """Open a customer account that signs in with a mobile number or an email address.

    ``language`` defaults to the active one (the request's, inside a view). Raises ValidationError
    for a malformed identifier or a password the validators refuse, and IdentifierTaken when
    another account uses the number or address; either way nothing is written.
    """
    identifier = identifier_parse(phone_or_email)
    if identifier_taken(identifier):
        raise IdentifierTaken(identifier.kind)

    user = User(
        username=_new_username(),
        first_name=name.strip(),
        language=_supported_language(language or translation.get_language()),
    )
    if identifier.kind == "email":
        user.email = identifier.value
    else:
        user.set_phone(identifier.value)
    password_validation.validate_password(password, user)
    user.set_password(password)
    try:
        # A savepoint: a number registered by a simultaneous sign-up trips phone_hash's unique index.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise IdentifierTaken(identifier.kind) from None
    user.groups.add(Group.objects.get(name=Role.CUSTOMER))
    return user


# --- Privacy rights (PIPL) ----------------------------------------------------------------------


def user_marketing_consent_set(*, user: User, granted: bool, now: dt.datetime | None = None) -> User:
    """Give or withdraw consent to offers and news (marketing), recorded with the time and the
    privacy notice's version; withdrawing keeps when it was withdrawn. Asking for what is already
    the case changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = User._default_manager.select_for_update().get(pk=user.pk)
        if granted and locked.marketing_consent_at is None:
            locked.marketing_consent_at = now
            locked.marketing_notice_version = settings.PRIVACY_NOTICE_VERSION
            locked.marketing_withdrawn_at = None
        elif not granted and locked.marketing_consent_at is not None:
            locked.marketing_consent_at = None
            locked.marketing_withdrawn_at = now
        else:
            return locked
        locked.save(
            update_fields=["marketing_consent_at", "marketing_notice_version", "marketing_withdrawn_at"]
        )
    return locked


def user_close(*, user: User, now: dt.datetime | None = None) -> User:
    """Close an account: it can no longer sign in (inactive, no usable password: every session of it
    ends, as its session hash changes) and keeps no personal data. The row stays, because the
    history names its actions by the account's number (kept files, for the retention period), as
    an anonymous ``closed-<id>``. The caller (``applications.services.account_close``) has removed
    what the other apps hold first."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from .otp.models import OneTimeCode

    now = now or timezone.now()
    with transaction.atomic():
        locked = User._default_manager.select_for_update().get(pk=user.pk)
        # Sign-in throttling's records name the account (its user name, address, browser).
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            model.objects.filter(username=locked.username).delete()
        # The one-time codes sent to its number (kept as keyed hashes, but they name the number).
        codes = OneTimeCode.objects.filter(user=locked)
        if locked.phone_hash:
            codes = codes | OneTimeCode.objects.filter(target_hash=locked.phone_hash)
        codes.delete()
        locked.username = f"closed-{locked.pk}"
        locked.first_name = locked.last_name = locked.email = ""
        locked.set_phone("")
        locked.set_unusable_password()
        locked.is_active = False
        if locked.marketing_consent_at is not None:
            locked.marketing_withdrawn_at = now
        locked.marketing_consent_at = None
        locked.closed_at = now
        locked.save()
    return locked


@transaction.atomic
def user_sign_up_by_phone(*, phone: str, password_hash: str, language: str | None = None) -> User:
    """Open a customer account for a number whose one-time code was just used (``code_views``).

    ``password_hash`` is what ``make_password`` made of the password chosen before the code was
    sent (validated then): the password itself is never kept between the two steps. Raises
    IdentifierTaken when the number has an account by now.
    """
    phone = validate_phone(phone)
    user = User(
        username=_new_username(), language=_supported_language(language or translation.get_language())
    )
    user.set_phone(phone)
    user.password = password_hash
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise IdentifierTaken("phone") from None
    user.groups.add(Group.objects.get(name=Role.CUSTOMER))
    return user


@transaction.atomic
def user_email_change(*, user: User, email: str) -> User:
    """Set the account's email (canonical, checked) after a code to its number confirmed it.
    Raises IdentifierTaken when another account uses the address."""
    email = canonical_email(email)
    validate_email(email)
    if User._default_manager.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise IdentifierTaken("email")
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        raise IdentifierTaken("email") from None
    return user


@transaction.atomic
def user_phone_change(*, user: User, phone: str) -> User:
    """Set the account's mobile number after codes to the new number (and the old one) confirmed it.
    Raises IdentifierTaken when another account uses the number."""
    user.set_phone(validate_phone(phone))
    try:
        with transaction.atomic():
            user.save(update_fields=["phone", "phone_hash"])
    except IntegrityError:
        raise IdentifierTaken("phone") from None
    return user
