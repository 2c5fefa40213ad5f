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


def dealer_type() -> DocumentType:
    """A document the dealership holds (the vehicle's invoice)."""
    return DocumentType.objects.get(code="vehicle_invoice")


def buyers_type() -> DocumentType:
    """A document only the buyer uploads (one the review requires, e.g. the ID card)."""
    return DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code").first()


def walk_in_body(**changes) -> dict:
    """What a dealer's system sends to start a file for a walk-in buyer."""
    return {
        "buyer_name": "李娜",
        "buyer_phone": "13912345678",
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": "200000.00",
        "powertrain": "fuel",
        "product": "standard",
        "down_payment": "60000.00",
        "requested_amount": "140000.00",
        "term_months": 36,
        **changes,
    }


def pdf_upload(name: str = "invoice.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")
