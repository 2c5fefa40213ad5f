"""Webhook endpoints (a dealership's subscriptions) and their deliveries (the outbox and the log).

Loaded with the app's models (``notifications/models.py`` imports them), so their app is
``notifications`` and their tables ``notifications_webhook…``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.models import Dealer, LoanApplication
from common.pii import EncryptedField

from .choices import WebhookEvent, WebhookStatus
from .validators import validate_webhook_url


class WebhookEndpoint(models.Model):
    """A URL of a dealership's system and the events it is sent.

    The secret signs every post; it is stored encrypted (the PII keys) and shown once, when it is
    made. Rotating it keeps the old one for an overlap period: posts meanwhile carry a signature
    with each, so the dealer can switch their receiver over without losing a post.
    """

    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("dealer")
    )
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("What it is, for staff."))
    url = models.URLField(_("URL"), max_length=500, validators=[validate_webhook_url])
    events = ArrayField(
        models.CharField(max_length=40, choices=WebhookEvent.choices), verbose_name=_("events"), default=list
    )
    active = models.BooleanField(_("active"), default=True)
    secret = EncryptedField(_("secret"), editable=False)
    previous_secret = EncryptedField(_("previous secret"), blank=True, editable=False)
    previous_secret_until = models.DateTimeField(_("previous secret valid until"), null=True, blank=True)
    secret_created_at = models.DateTimeField(_("secret made"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["dealer__name", "pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name or self.url

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        """The secrets a post made at ``now`` is signed with, newest first."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row a worker claims and posts, and the log's entry.

    Written in the transaction that caused the event. ``event_id`` is derived from the history
    event, so writing it again finds the row there (unique per endpoint). ``due_at`` is the next
    attempt; after a failure it moves on by the backoff until ``retry_until``, then the row fails.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    application = models.ForeignKey(
        LoanApplication, on_delete=models.CASCADE, related_name="+", verbose_name=_("application")
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    event_type = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    # The body as posted, byte for byte, so every attempt (and "send again") signs the same text.
    body = models.TextField(_("body"))
    occurred_at = models.DateTimeField(_("occurred"))
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("next attempt"))
    retry_until = models.DateTimeField(_("retried until"))
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response (start)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="webhook_status_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}: {self.status}"
