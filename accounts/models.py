from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from common.pii import EncryptedField, keyed_hash, mask_phone

# Han characters (the CJK Unified Ideographs, with extension A and the compatibility block).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class User(AbstractUser):
    """A person who signs in: customer, dealer staff or back-office staff (roles are groups).

    The mobile number is personal data: encrypted, with a keyed hash for sign-in look-up.
    """

    email = models.EmailField(_("email address"), blank=True)
    phone = EncryptedField(_("mobile number"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # Raised by "sign out everywhere" (accounts.sessions): every session signed in before carries
    # an auth hash made with the previous value, which Django's own check then refuses.
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # Consent to offers and news (marketing), separate from the service messages about one's
    # applications: never presumed, given and withdrawn on the privacy page, recorded with the
    # notice version. Empty: not given (or withdrawn at ``marketing_withdrawn_at``).
    marketing_consent_at = models.DateTimeField(_("marketing consent given"), null=True, blank=True)
    marketing_notice_version = models.CharField(_("marketing consent notice"), max_length=20, blank=True)
    marketing_withdrawn_at = models.DateTimeField(_("marketing consent withdrawn"), null=True, blank=True)
    # When the customer closed their account: deactivated, personal data removed (``user_close``).
    closed_at = models.DateTimeField(_("account closed"), null=True, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Sign-in by email must find one account: unique regardless of case, when given.
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="unique_email_ci"),
        ]
        indexes = [
            # The few staff among a million customers, in name order (the queue's assignee filter,
            # the reassign forms): without it every such list scans the whole user table.
            models.Index(fields=["username"], condition=Q(is_staff=True), name="user_staff_username_idx"),
        ]

    def _with_generation(self, auth_hash: str) -> str:
        # Generation 0 keeps Django's own hash, so sessions from before this field stay valid.
        if not self.session_generation:
            return auth_hash
        return salted_hmac(
            "accounts.User.session_generation", f"{auth_hash}:{self.session_generation}", algorithm="sha256"
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        """Django's hash (password and secret key) bound to the session generation as well."""
        return self._with_generation(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self):
        # The same for the hashes made with SECRET_KEY_FALLBACKS, else a rotated key would let a
        # session signed out everywhere back in.
        for auth_hash in super().get_session_auth_fallback_hash():
            yield self._with_generation(auth_hash)

    def set_phone(self, phone: str) -> None:
        self.phone = phone
        self.phone_hash = keyed_hash(phone) if phone else None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def get_full_name(self) -> str:
        """A Chinese name family name first, with no space (王芳); any other as Django writes it,
        given name first (Fang Wang)."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _HAN.search(first + last):
            return f"{last}{first}"
        return super().get_full_name()

    def display_name(self) -> str:
        return self.get_full_name() or self.username


class SecurityEvent(models.Model):
    """What happened to an account's sign-in, and who did it: set up or reset a second factor, all
    sessions ended. Written by the services in ``accounts.sessions`` and ``accounts.second_factor``;
    never changed afterwards."""

    class Kind(models.TextChoices):
        SECOND_FACTOR_ENROLLED = "second_factor_enrolled", _("Second factor set up")
        SECOND_FACTOR_RESET = "second_factor_reset", _("Second factor reset")
        SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", _("Signed out everywhere")

    at = models.DateTimeField(_("when"), db_index=True)
    kind = models.CharField(_("what"), max_length=32, choices=Kind.choices)
    # Who did it: the person themselves, or a manager for a colleague.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="security_events",
        verbose_name=_("account"),
    )

    class Meta:
        verbose_name = _("sign-in security event")
        verbose_name_plural = _("sign-in security events")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user_id} by {self.actor_id} at {self.at:%Y-%m-%d %H:%M}"


# One-time codes live in their own module (accounts.otp); Django finds models through this one.
from .otp.models import OneTimeCode  # noqa: E402, F401
