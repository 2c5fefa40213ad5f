"""The REST API's own records: the keys (a dealership's, or a partner's for its steps), the user
each dealership acts as, and the answers kept for ``Idempotency-Key`` retries."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.choices import PartnerStepKind
from applications.models import Dealer


class Scope(models.TextChoices):
    """What a key may do. Writing includes reading: a dealer's system that creates files reads
    them back."""

    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class DealerApiUser(models.Model):
    """The user a dealership's API requests act as (``api.keys.dealer_api_user``).

    One per dealership, shared by its keys: a member of the dealership's staff in the dealer role
    with no password, so the core checks an API request exactly as it checks the dealer's web
    pages (``_applicant_or_dealer``), and the history names the dealership's system, never the
    manager who created a key (who is not dealer staff and may leave). Which key acted is on the
    key's idempotency records and in the log.
    """

    dealer = models.OneToOneField(Dealer, on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("dealership's API user")
        verbose_name_plural = _("dealerships' API users")

    def __str__(self) -> str:
        return str(self.user)


class ApiKey(models.Model):
    """A key: ``lp_<prefix>_<secret>``, held either by a dealership or by a partner. Only the
    prefix (shown, to tell keys apart) and the SHA-256 of the secret are stored; the secret is 32
    random bytes, so a plain hash is as strong as a keyed one and needs no key of its own. The whole
    key is shown once, when a manager creates it in the admin.

    A dealership's key acts as the dealership's API user (``actor``) on its own files. A partner's
    key (the credit bureau, the e-signature service, the bank…) has no dealership and no user: it
    may only report the partner steps of ``step_kinds``, on any file with such a step open, as the
    partner itself (``api.permissions.PartnerKeyLimits``)."""

    dealer = models.ForeignKey(
        Dealer,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("dealer"),
        help_text=_("A dealership's key: leave the partner fields empty."),
    )
    partner_name = models.CharField(
        _("partner"),
        max_length=80,
        blank=True,
        help_text=_("A partner's key: who holds it, e.g. the credit bureau. Leave the dealer empty."),
    )
    step_kinds = ArrayField(
        models.CharField(max_length=40, choices=PartnerStepKind.choices),
        verbose_name=_("partner steps it reports"),
        default=list,
        blank=True,
    )
    name = models.CharField(_("name"), max_length=80, help_text=_("What the key is for, e.g. the DMS."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    # The dealership's API user; None for a partner's key (the partner reports as itself).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    # Moved on at most once a minute (``api.keys.key_touch``): not a write per request.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["dealer", "partner_name", "name"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            # Exactly one holder: a dealership (with its API user, no steps of its own) or a
            # partner (named, with at least one kind of step, no user).
            models.CheckConstraint(
                condition=(
                    models.Q(
                        dealer__isnull=False,
                        actor__isnull=False,
                        partner_name="",
                        step_kinds__len=0,
                    )
                    | (
                        models.Q(dealer__isnull=True, actor__isnull=True, step_kinds__len__gt=0)
                        & ~models.Q(partner_name="")
                    )
                ),
                name="api_apikey_dealer_or_partner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (lp_{self.prefix}_…)"

    @property
    def is_partner(self) -> bool:
        return self.dealer_id is None

    @property
    def holder(self) -> str:
        """Who holds the key: the dealership or the partner."""
        return self.partner_name if self.is_partner else str(self.dealer)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.WRITE


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an ``Idempotency-Key``, per API key: a retry gets it again.

    The row is inserted at the start of the request's transaction, so a concurrent retry waits on
    the unique constraint until the first one commits, then replays its answer (``api.idempotency``).
    Purged 24 hours after it was made (``api.tasks.idempotency_purge``).
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and parsed body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    location = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"

    def expired(self, *, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) - self.created_at >= IDEMPOTENCY_LIFETIME


IDEMPOTENCY_LIFETIME = dt.timedelta(hours=24)
