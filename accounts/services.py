"""Writes for customer accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import translation
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
