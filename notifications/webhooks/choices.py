from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """What a dealer's system can subscribe to: each is one ``type`` of the posted body."""

    STAGE_CHANGED = "application.stage_changed", _("Stage changed")
    DOCUMENTS_REQUESTED = "application.documents_requested", _("Documents requested")
    OFFER_READY = "application.offer_ready", _("Offer ready")
    DISBURSED = "application.disbursed", _("Loan disbursed")


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
