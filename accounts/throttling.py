"""The key django-axes counts sign-in failures under: one per account, whatever the customer typed.

Axes counts failures per (user name, IP address). Left alone it uses the text typed into the sign-in
box, so "13812345678", "138 1234 5678", "+86 138-1234-5678", the account's email in any mix of
upper and lower case, and its user name would each get their own five tries — an attacker could
cycle through spellings without ever being locked out. And a successful sign-in clears failures
under the account's *user name* only, never under the phone number that was typed.

``sign_in_key`` maps every spelling to the account's user name, so all of them share one counter
and a successful sign-in clears it. An identifier that names no account maps to a keyed hash of its
canonical form (``common.identifiers``: a number in full-width or Arabic-Indic digits is the same
number): it is still throttled, and axes' tables never hold a plaintext phone number or email.

``axes_username`` has the signature of ``AXES_USERNAME_CALLABLE`` so that every sign-in path (the
admin's login too) can use the same key.
"""

from __future__ import annotations

import ipaddress
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from common import ratelimit
from common.identifiers import canonical_email, canonical_text
from common.pii import keyed_hash, validate_phone

# "?" cannot appear in a Django user name, so a hashed key never collides with a real account.
_UNKNOWN_PREFIX = "?"


def sign_in_key(identifier: str | None) -> str:
    """The account's user name for a mobile number, email or user name; a hash when there is none."""
    # A user name is compared as Django stores it (NFKC only: ``AbstractBaseUser.normalize_username``);
    # a phone number or email in its canonical spelling, digits of any script as ASCII.
    user_name = unicodedata.normalize("NFKC", identifier or "").strip()
    identifier = canonical_text(identifier)
    if not identifier or identifier.startswith(_UNKNOWN_PREFIX):
        return user_name  # already a key (axes calls back with what we gave authenticate())
    users = get_user_model()._default_manager
    normalised = None
    if "@" in identifier:
        normalised = canonical_email(identifier).lower()  # any case of the address: one counter
        # Like PhoneOrEmailBackend: an email shared by two accounts signs in neither.
        matches = list(users.filter(email__iexact=normalised).values_list("username", flat=True)[:2])
        if len(matches) == 1:
            return matches[0]
    else:
        try:
            normalised = validate_phone(identifier)
        except ValidationError:
            pass
        else:
            username = (
                users.filter(phone_hash=keyed_hash(normalised)).values_list("username", flat=True).first()
            )
            if username is not None:
                return username
    if normalised is None or users.filter(username=user_name).exists():
        return user_name  # a user name (ModelBackend matches it exactly), existing or not
    return _UNKNOWN_PREFIX + keyed_hash(normalised)[:32]


def axes_username(request, credentials: dict | None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the same key for the typed identifier and for the signed-in user."""
    field = settings.AXES_USERNAME_FORM_FIELD
    raw = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return sign_in_key(raw) if raw is not None else None


def client_ip(request) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the address every limit counts (``common.ratelimit.client_ip``:
    the client's, looking past ``TRUSTED_PROXY_COUNT`` reverse proxies), or None when the request
    carries no address (a sign-in made in-process, e.g. a management command or the test client's
    ``force_login``): axes keeps addresses in an inet column, which refuses a placeholder word."""
    address = ratelimit.client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address
