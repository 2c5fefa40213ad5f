"""Builders for the API's tests: keys, files of a dealership, uploads."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import Scope
from api.services import api_key_create
from applications.choices import Stage
from applications.models import DocumentType

PDF = b"%PDF-1.4\n% a test document\n%%EOF\n"


def make_key(*, dealer, created_by, scope: str = Scope.WRITE, name: str = "DMS") -> tuple:
    """(ApiKey, plaintext)."""
    new = api_key_create(dealer=dealer, name=name, scope=scope, created_by=created_by)
    return new.api_key, new.plaintext


def bearer(plaintext: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def required_type() -> DocumentType:
    return DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code").first()


def pdf_upload(name: str = "invoice.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")
