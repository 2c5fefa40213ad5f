from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    STAGE_CHANGED = "stage_changed", _("Your application moved on")
    DOCUMENTS_REQUESTED = "documents_requested", _("Documents needed")
    DOCUMENT_REJECTED = "document_rejected", _("A document needs replacing")
    OFFER_READY = "offer_ready", _("Your offer is ready")
    DECISION = "decision", _("A decision on your application")
