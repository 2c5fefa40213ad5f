"""The documents a customer uploads and the ones a reviewer asks for."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import DocumentStatus
from .configuration import DocumentType, Reason


class DocumentRequest(models.Model):
    """A reviewer's request for a document type, open until a document of that type is on file."""

    application = models.ForeignKey(
        "applications.LoanApplication", on_delete=models.CASCADE, related_name="document_requests"
    )
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="requests")
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")

    def __str__(self) -> str:
        return str(self.document_type)


def document_upload_to(instance: Document, filename: str) -> str:
    # A generated name: the customer's file name never reaches the file system.
    return f"documents/{instance.application.reference}/{secrets.token_hex(16)}"


class Document(models.Model):
    # What customer URLs name a document by: random, so the database id never shows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        "applications.LoanApplication", on_delete=models.CASCADE, related_name="documents"
    )
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, verbose_name=_("type"))
    file = models.FileField(_("file"), upload_to=document_upload_to)
    original_name = models.CharField(_("original file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    status = models.CharField(
        _("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    rejection_reason = models.ForeignKey(
        Reason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("rejection reason")
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"{self.document_type} ({self.get_status_display()})"
