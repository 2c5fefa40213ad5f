"""A walk-in buyer's claim on the application a dealer started for them at the showroom.

The dealer knows the buyer's name and mobile number, not their account (they may have none yet).
The file is a draft with no customer until the buyer claims it: they open the link we texted to
that number (an opaque token, kept here as its keyed hash only), prove the number with a one-time
code, and sign in or sign up with it. From then on the file is the buyer's; the dealership keeps
seeing it. The buyer's own details, consents and submission are theirs alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.pii import EncryptedField, mask_name, mask_phone


class WalkInClaim(models.Model):
    application = models.OneToOneField(
        "applications.LoanApplication",
        on_delete=models.CASCADE,
        related_name="walk_in",
        verbose_name=_("application"),
    )
    buyer_name = models.CharField(_("buyer's name"), max_length=60)
    buyer_phone = EncryptedField(_("buyer's mobile number"))
    buyer_phone_hash = models.CharField(max_length=64, db_index=True, editable=False)
    # Keyed hash of the link's token (``services.dealer``): the token itself exists only in the
    # text message. A new link replaces it.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    link_sent_at = models.DateTimeField(_("link sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("walk-in claim")
        verbose_name_plural = _("walk-in claims")

    def __str__(self) -> str:
        return f"{self.masked_buyer_name} {self.masked_buyer_phone}"

    @property
    def masked_buyer_name(self) -> str:
        return mask_name(self.buyer_name)

    @property
    def masked_buyer_phone(self) -> str:
        return mask_phone(self.buyer_phone)
