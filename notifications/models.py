"""Notifications: one row per (recipient, occurrence), written in the same transaction as the
change that causes it (an outbox), so a rolled-back change leaves none and a repeated cause adds
none (the dedupe key is unique). The in-app inbox reads these rows; channel delivery (email, SMS)
builds on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.models import LoanApplication

from .choices import Channel, DeliveryStatus, Kind


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    application = models.ForeignKey(
        LoanApplication,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("application"),
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    # Rendered in the reader's language at display time, from the kind and these values.
    context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            # The sweep's nudge schedule: an application's reminders of one kind since a time.
            models.Index(fields=["application", "kind", "created_at"], name="notif_app_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"


class SweepRun(models.Model):
    """The last successful run of a periodic job (the SLA sweep): a stopped beat must show."""

    name = models.CharField(max_length=40, unique=True)
    finished_at = models.DateTimeField(_("last successful run"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    counts = models.JSONField(_("what it did"), default=dict, blank=True)

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")

    def __str__(self) -> str:
        return self.name


class ChannelPreference(models.Model):
    """Which channels besides the in-app inbox a person wants (both on unless they say otherwise)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_preference"
    )
    email = models.BooleanField(_("by email"), default=True)
    sms = models.BooleanField(_("by text message"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)


class Delivery(models.Model):
    """One notification on one channel: the outbox row a worker claims, sends and marks sent.

    Written in the same transaction as the notification. ``due_at`` holds anything that must wait
    (quiet hours, a retry); the relay finds due rows, so no Celery countdown is ever long.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery_per_channel")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="delivery_status_due")]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}: {self.status}"


# Webhooks, a subdomain of their own (``notifications.webhooks``); imported here so that Django
# and the migrations see them as this app's models.
from .webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402, F401
