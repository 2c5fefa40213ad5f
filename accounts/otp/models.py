"""A one-time code sent by text message: stored as a keyed hash, never as the digits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    SIGN_UP = "signup", _("verify the number of a new account")
    SIGN_IN = "signin", _("sign in")
    RESET = "reset", _("reset the password")
    EMAIL = "email", _("change the email address")
    PHONE_OLD = "phone_old", _("change the number: the current one")
    PHONE_NEW = "phone_new", _("change the number: the new one")
    TRACK = "track", _("track an application")
    CLAIM = "claim", _("claim an application a dealer started")


class OneTimeCode(models.Model):
    """One code sent (or, where sending would reveal who has an account, a row that stands in for
    one and matches nothing: the limits and the answers are the same either way).

    ``target_hash`` is the keyed hash of the number it went to; ``context_hash`` binds it to what
    it confirms (the reference tracked, the new email or number), so a code for one thing is not
    accepted for another. Only the newest code of a purpose and number counts.
    """

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    target_hash = models.CharField(max_length=64)
    context_hash = models.CharField(max_length=64, blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    salt = models.CharField(max_length=32)
    # HMAC with PII_HASH_KEY of the salt and the digits; empty: a stand-in that matches nothing.
    code_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)  # used (one use only)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["target_hash", "created_at"], name="otp_target_created_idx")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"
