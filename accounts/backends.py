"""Sign-in by mobile number or email address, besides the user name."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from common.identifiers import canonical_email, canonical_text
from common.pii import keyed_hash, validate_phone


class PhoneOrEmailBackend(ModelBackend):
    """Finds the account by the keyed hash of a mobile number, or by a unique email address.

    What was typed is canonicalised first (``common.identifiers``): a number typed in full-width or
    Arabic-Indic digits finds the account its ASCII spelling finds.
    """

    def authenticate(self, request, username: str | None = None, password: str | None = None, **kwargs):
        identifier = canonical_text(username)
        if not identifier or password is None:
            return None
        users = get_user_model().objects
        if "@" in identifier:
            matches = list(users.filter(email__iexact=canonical_email(identifier))[:2])
            user = matches[0] if len(matches) == 1 else None
        else:
            try:
                phone = validate_phone(identifier)
            except ValidationError:
                return None
            user = users.filter(phone_hash=keyed_hash(phone)).first()
        if user is None:
            users.model().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
