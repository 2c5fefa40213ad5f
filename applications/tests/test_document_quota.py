"""The quota of one application: so many files per document type and so many megabytes in all; an
upload past it is refused on the upload page with the reason, in the customer's language, and
leaves nothing stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from applications import services
from applications.choices import EventKind, Stage
from applications.models import Document, DocumentType, LoanApplication

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def pdf(size: int = 64) -> SimpleUploadedFile:
    content = b"%PDF-1.4\n" + b"0" * (size - 9)
    return SimpleUploadedFile("scan.pdf", content, "application/pdf")


@pytest.fixture(autouse=True)
def clean_media():
    before = set(LoanApplication.objects.values_list("reference", flat=True))
    yield
    root = Path(django_settings.MEDIA_ROOT) / "documents"
    for reference in set(LoanApplication.objects.values_list("reference", flat=True)) - before:
        shutil.rmtree(root / reference, ignore_errors=True)


@pytest.fixture
def awaiting(draft, customer) -> LoanApplication:
    services.application_submit(application=draft, actor=customer)
    return services.precheck_run(application_id=draft.pk)


def review_types() -> list[DocumentType]:
    return list(DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code"))


def store(application: LoanApplication, doc_type: DocumentType, size: int = 64) -> Document:
    return services.document_upload(
        application=application, document_type=doc_type, uploaded_file=pdf(size), actor=application.customer
    )


def stored_files(application: LoanApplication) -> int:
    folder = Path(django_settings.MEDIA_ROOT) / "documents" / application.reference
    return len(list(folder.iterdir())) if folder.exists() else 0


def post_upload(client, application: LoanApplication, doc_type: DocumentType, size: int = 64):
    url = reverse("applications:document_upload", args=[application.reference, doc_type.code])
    return client.post(url, {"file": pdf(size)})


def test_a_document_type_holds_at_most_the_quota_and_the_page_says_why(client, customer, awaiting, settings):
    settings.DOCUMENT_QUOTA_FILES_PER_TYPE = 2
    doc_type = review_types()[0]
    store(awaiting, doc_type)
    store(awaiting, doc_type)
    events = awaiting.events.count()
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = post_upload(client, awaiting, doc_type)

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        f"This application already holds 2 files of “{doc_type.name_en}”, the most we keep "
        "for one document. To send another, please contact customer service."
    ]
    assert Document.objects.filter(application=awaiting).count() == 2
    assert stored_files(awaiting) == 2  # the refused file was removed again
    assert awaiting.events.count() == events
    # Another type still has room.
    assert post_upload(client, awaiting, review_types()[1]).status_code == 302


def test_the_total_size_counts_every_type_up_to_the_limit_inclusive(awaiting, settings):
    settings.DOCUMENT_QUOTA_TOTAL_BYTES = 1 * MB
    first, second, third = review_types()[:3]
    store(awaiting, first, size=MB // 2)
    store(awaiting, second, size=MB // 2)  # exactly the limit: accepted

    with pytest.raises(ValidationError) as refused:
        store(awaiting, third, size=64)

    assert refused.value.message_dict == {
        "file": [
            "With this file the documents of this application would take more than 1 MB in all "
            "(1.0 MB are on file). Upload a smaller file, for example a photo at a lower "
            "resolution, or contact customer service."
        ]
    }
    assert not awaiting.events.filter(kind=EventKind.DOCUMENT, data__type=third.code).exists()
    assert stored_files(awaiting) == 2


def test_the_refusal_reads_in_chinese_by_default(client, customer, awaiting, settings):
    settings.DOCUMENT_QUOTA_FILES_PER_TYPE = 1
    doc_type = review_types()[0]
    store(awaiting, doc_type)
    client.force_login(customer)

    response = post_upload(client, awaiting, doc_type)

    (message,) = response.context["form"].errors["file"]
    assert (
        message == f"本申请的“{doc_type.name_zh_hans}”已有 1 份文件，已达单项上限。如需再次上传，请联系客服。"
    )
    assert message in response.content.decode()
