"""Documents: judged by content, never by name; at most 10 MB; stored under a random name outside
static/; served only to the owner and document staff; the last one owed resumes review; a rejected
one shows why and can be replaced."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from applications import services
from applications.choices import DocumentStatus, EventKind, Stage
from applications.models import Document, DocumentType, LoanApplication, Reason
from applications.services.documents import sniff_content_type

from .factories import detail_url

pytestmark = pytest.mark.django_db

# Tiny files with real signatures: what the browser says about them does not matter.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16 + b"\xff\xd9"
TEXT = b"Dear bank, please find my payslip attached.\n"


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clean_media():
    """Remove the files these tests store under MEDIA_ROOT (var/test-media)."""
    before = set(LoanApplication.objects.values_list("reference", flat=True))
    yield
    root = Path(settings.MEDIA_ROOT) / "documents"
    for reference in set(LoanApplication.objects.values_list("reference", flat=True)) - before:
        shutil.rmtree(root / reference, ignore_errors=True)


def upload_file(content: bytes, name: str = "scan.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def required_types() -> list[DocumentType]:
    return list(DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code"))


def upload_url(application: LoanApplication, doc_type: DocumentType | str) -> str:
    code = doc_type if isinstance(doc_type, str) else doc_type.code
    return reverse("applications:document_upload", args=[application.reference, code])


def download_url(document: Document) -> str:
    return reverse(
        "applications:document_download", args=[document.application.reference, document.public_id]
    )


@pytest.fixture
def awaiting(draft, customer) -> LoanApplication:
    """The customer's application after submission: the pre-check asks for every document."""
    services.application_submit(application=draft, actor=customer)
    application = services.precheck_run(application_id=draft.pk)
    assert application.stage == Stage.AWAITING_DOCUMENTS
    return application


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def stored(application, doc_type, content=PDF, actor=None, name="scan.pdf") -> Document:
    return services.document_upload(
        application=application,
        document_type=doc_type,
        uploaded_file=upload_file(content, name),
        actor=actor or application.customer,
    )


# --- What is accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "declared", "expected"),
    [
        (PDF, "scan.pdf", "application/pdf", "application/pdf"),
        (JPEG, "photo.jpg", "image/jpeg", "image/jpeg"),
        (PNG, "photo.png", "image/png", "image/png"),
        # A real PNG under a misleading name and type is still a PNG.
        (PNG, "payslip.pdf", "application/pdf", "image/png"),
        (PDF, "IMG_0001", "application/octet-stream", "application/pdf"),
    ],
)
def test_pdf_jpeg_and_png_are_accepted_by_their_content(
    signed_in, awaiting, content, name, declared, expected
):
    doc_type = required_types()[0]

    response = signed_in.post(upload_url(awaiting, doc_type), {"file": upload_file(content, name, declared)})

    assert response.status_code == 302
    document = Document.objects.get(application=awaiting)
    assert (document.content_type, document.size, document.original_name) == (expected, len(content), name)
    assert document.status == DocumentStatus.PENDING
    with document.file.open("rb") as stored_file:
        assert stored_file.read() == content


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (TEXT, "payslip.pdf"),
        (b"GIF89a" + b"\x00" * 10, "photo.png"),
        (b"PK\x03\x04" + b"\x00" * 10, "statement.pdf"),  # a ZIP (or an Office file)
        (b"<html><script>alert(1)</script>", "id.jpg"),
    ],
)
def test_anything_else_is_refused_whatever_its_name_and_nothing_is_stored(signed_in, awaiting, content, name):
    doc_type = required_types()[0]
    folder = Path(settings.MEDIA_ROOT) / "documents" / awaiting.reference
    events = awaiting.events.count()

    response = signed_in.post(upload_url(awaiting, doc_type), {"file": upload_file(content, name)})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "Upload a PDF, JPEG or PNG file. This file is none of these, whatever its name says."
    ]
    assertContains(response, 'id="error_1_id_file"')
    assert not Document.objects.exists()
    assert not folder.exists() or not any(folder.iterdir())
    assert awaiting.events.count() == events


def test_a_file_of_10_mb_and_one_byte_is_refused_with_the_limit_in_the_message(signed_in, awaiting):
    too_big = PDF + b"\x00" * (settings.DOCUMENT_MAX_BYTES + 1 - len(PDF))
    assert len(too_big) == 10 * 1024 * 1024 + 1

    response = signed_in.post(upload_url(awaiting, required_types()[0]), {"file": upload_file(too_big)})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "This file is larger than 10 MB. Upload a smaller file."
    ]
    assert not Document.objects.exists()


def test_the_size_limit_is_inclusive(awaiting, settings):
    settings.DOCUMENT_MAX_BYTES = len(PDF)
    doc_type = required_types()[0]

    assert stored(awaiting, doc_type, PDF).size == len(PDF)
    with pytest.raises(ValidationError) as caught:
        stored(awaiting, doc_type, PDF + b"\n")
    assert caught.value.message_dict == {"file": ["This file is larger than 0 MB. Upload a smaller file."]}


def test_an_empty_upload_asks_for_a_file(signed_in, awaiting):
    response = signed_in.post(upload_url(awaiting, required_types()[0]), {})

    assert response.context["form"].errors["file"] == ["Choose a file to upload."]


def test_signatures_are_checked_at_the_start_of_the_file_only():
    assert sniff_content_type(b"%PDF-1.7") == "application/pdf"
    assert sniff_content_type(b"junk %PDF-1.7") is None
    assert sniff_content_type(b"\x89PNG\r\n") is None  # cut short
    assert sniff_content_type(b"") is None


# --- Where it is stored -------------------------------------------------------------------------


def test_the_stored_name_is_random_and_outside_static(awaiting):
    first = stored(awaiting, required_types()[0], name="../../static/evil.pdf")
    second = stored(awaiting, required_types()[1], name="../../static/evil.pdf")

    for document in (first, second):
        assert re.fullmatch(rf"documents/{awaiting.reference}/[0-9a-f]{{32}}", document.file.name)
        path = Path(document.file.path).resolve()
        assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
        assert not path.is_relative_to((Path(settings.BASE_DIR) / "static").resolve())
        assert not path.is_relative_to(Path(settings.STATIC_ROOT).resolve())
        assert "evil" not in document.file.name
        assert document.original_name == "evil.pdf"  # no path kept, for display only
    assert first.file.name != second.file.name


# --- Who may download ---------------------------------------------------------------------------


def test_the_owner_downloads_the_file_as_an_attachment(signed_in, awaiting):
    document = stored(awaiting, required_types()[0], PNG, name="我的身份证.png")

    response = signed_in.get(download_url(document))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    code = required_types()[0].code
    assert response["Content-Disposition"] == f'attachment; filename="{awaiting.reference}-{code}.png"'
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_another_customer_gets_404_for_the_file(client, awaiting, other_customer):
    document = stored(awaiting, required_types()[0])
    client.force_login(other_customer)

    assert client.get(download_url(document)).status_code == 404


@pytest.mark.parametrize("persona", ["reviewer", "approver", "operations", "manager"])
def test_staff_get_404_for_the_customers_file_url(client, awaiting, request, persona):
    """The customer's URL serves the file's own customer (or the dealer staff who brought it);
    staff open documents in the back office, where the file's scope is checked and each opening
    logged (reviews/admin/documents.py)."""
    document = stored(awaiting, required_types()[0])
    client.force_login(request.getfixturevalue(persona))

    assert client.get(download_url(document)).status_code == 404


def test_dealer_staff_who_did_not_create_it_get_404(client, awaiting, dealer_user):
    document = stored(awaiting, required_types()[0])
    client.force_login(dealer_user)

    assert client.get(download_url(document)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_for_every_document_url(client, awaiting):
    document = stored(awaiting, required_types()[0])
    for url in (download_url(document), upload_url(awaiting, required_types()[0])):
        assertRedirects(
            client.get(url), f"{reverse('accounts:login')}?next={url}", fetch_redirect_response=False
        )


def test_a_document_is_only_found_under_its_own_application(client, awaiting, customer, dealer):
    from applications.tests.factories import make_draft

    document = stored(awaiting, required_types()[0])
    other_application = make_draft(customer=customer, dealer=dealer)
    client.force_login(customer)

    url = reverse("applications:document_download", args=[other_application.reference, document.public_id])
    assert client.get(url).status_code == 404


def test_another_customer_gets_404_on_the_upload_page_and_cannot_upload(client, awaiting, other_customer):
    client.force_login(other_customer)
    url = upload_url(awaiting, required_types()[0])

    assert client.get(url).status_code == 404
    assert client.post(url, {"file": upload_file(PDF)}).status_code == 404
    assert not Document.objects.exists()


def test_a_type_the_application_does_not_need_is_404(signed_in, awaiting):
    assert signed_in.get(upload_url(awaiting, "vehicle_invoice")).status_code == 404
    assert signed_in.get(upload_url(awaiting, "no-such-type")).status_code == 404


# --- Back to review when nothing is owed --------------------------------------------------------


def test_uploading_the_last_missing_document_resumes_review(signed_in, awaiting, customer):
    *first, last = required_types()
    for doc_type in first:
        response = signed_in.post(upload_url(awaiting, doc_type), {"file": upload_file(PDF)})
        awaiting.refresh_from_db()
        assert awaiting.stage == Stage.AWAITING_DOCUMENTS
    # Each upload leads on to the next document still owed …
    assertRedirects(response, upload_url(awaiting, last), fetch_redirect_response=False)

    response = signed_in.post(upload_url(awaiting, last), {"file": upload_file(PNG, "licence.png")})

    # … and the last one to the timeline, with the application back in review.
    assertRedirects(response, detail_url(awaiting), fetch_redirect_response=False)
    awaiting.refresh_from_db()
    assert awaiting.stage == Stage.UNDER_REVIEW
    document_event, resume_event = awaiting.events.order_by("-sequence")[:2][::-1]
    assert document_event.kind == EventKind.DOCUMENT
    assert document_event.data == {
        "action": "uploaded",
        "document": str(Document.objects.get(document_type=last).public_id),
        "type": last.code,
    }
    assert (resume_event.kind, resume_event.transition, resume_event.from_stage, resume_event.to_stage) == (
        EventKind.TRANSITION,
        "resume_review",
        Stage.AWAITING_DOCUMENTS,
        Stage.UNDER_REVIEW,
    )
    assert resume_event.actor == customer
    assert awaiting.events.filter(kind=EventKind.DOCUMENT).count() == len(required_types())


def test_documents_uploaded_before_submission_let_the_precheck_go_straight_to_review(
    signed_in, draft, customer, django_capture_on_commit_callbacks
):
    for doc_type in required_types():
        signed_in.post(upload_url(draft, doc_type), {"file": upload_file(PDF)})
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT

    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("applications:apply_review", args=[draft.reference]))

    draft.refresh_from_db()
    assert draft.stage == Stage.UNDER_REVIEW


def test_documents_cannot_be_added_once_review_is_over(signed_in, awaiting, reviewer):
    for doc_type in required_types():
        stored(awaiting, doc_type)
    application = services.review_recommend(
        application=LoanApplication.objects.get(pk=awaiting.pk), actor=reviewer
    )
    assert application.stage == Stage.APPROVAL
    doc_type = required_types()[0]

    page = signed_in.get(upload_url(application, doc_type))
    assertContains(page, "Documents can no longer be added to this application.")
    assertNotContains(page, 'type="file"')
    response = signed_in.post(upload_url(application, doc_type), {"file": upload_file(PDF)})

    assertRedirects(response, detail_url(application), fetch_redirect_response=False)
    assert Document.objects.filter(application=application).count() == len(required_types())


# --- Staff verdicts, and replacing a rejected document -------------------------------------------


def test_a_rejected_document_shows_its_reason_and_can_be_replaced(signed_in, awaiting, reviewer):
    doc_type = required_types()[0]
    first = stored(awaiting, doc_type, JPEG, name="blurry.jpg")
    services.document_reject(
        document=first, actor=reviewer, reason=Reason.objects.get(code="photo_unreadable")
    )

    page = signed_in.get(upload_url(awaiting, doc_type))

    assertContains(page, "blurry.jpg")
    assertContains(page, "Why we could not accept it:")
    assertContains(page, "The photo is unreadable")
    assertContains(page, "Please retake it in daylight with all four corners and the text clearly visible.")
    assertContains(page, "Please replace")
    assertContains(page, "Upload a new file")

    response = signed_in.post(
        upload_url(awaiting, doc_type), {"file": upload_file(JPEG, "sharp.jpg", "image/jpeg")}
    )

    assert response.status_code == 302
    first.refresh_from_db()
    replacement = Document.objects.exclude(pk=first.pk).get(document_type=doc_type)
    assert (first.status, replacement.status) == (DocumentStatus.REJECTED, DocumentStatus.PENDING)
    assert doc_type not in LoanApplication.objects.get(pk=awaiting.pk).missing_document_types()


def test_rejecting_needs_a_document_reason_from_the_catalogue_and_is_recorded(awaiting, reviewer):
    document = stored(awaiting, required_types()[0])

    with pytest.raises(ValidationError):
        services.document_reject(
            document=document, actor=reviewer, reason=Reason.objects.get(code="dti_too_high")
        )
    document.refresh_from_db()
    assert document.status == DocumentStatus.PENDING

    services.document_reject(
        document=document, actor=reviewer, reason=Reason.objects.get(code="document_expired")
    )

    document.refresh_from_db()
    assert (document.status, document.rejection_reason.code, document.reviewed_by) == (
        DocumentStatus.REJECTED,
        "document_expired",
        reviewer,
    )
    event = awaiting.events.order_by("-sequence").first()
    assert (event.kind, event.reason_code, event.actor) == (EventKind.DOCUMENT, "document_expired", reviewer)
    assert event.data == {
        "action": "rejected",
        "document": str(document.public_id),
        "type": document.document_type.code,
    }


def test_accepting_is_recorded_and_happens_once(awaiting, reviewer):
    document = stored(awaiting, required_types()[0])

    services.document_accept(document=document, actor=reviewer)

    document.refresh_from_db()
    assert (document.status, document.reviewed_by) == (DocumentStatus.ACCEPTED, reviewer)
    assert awaiting.events.order_by("-sequence").first().data["action"] == "accepted"
    with pytest.raises(services.TransitionError):
        services.document_reject(
            document=document, actor=reviewer, reason=Reason.objects.get(code="wrong_document")
        )


def test_customers_cannot_judge_their_own_documents(awaiting, customer):
    document = stored(awaiting, required_types()[0])

    with pytest.raises(PermissionDenied):
        services.document_accept(document=document, actor=customer)


# --- Queries ------------------------------------------------------------------------------------


def test_the_upload_page_needs_a_fixed_number_of_queries(signed_in, awaiting, django_assert_num_queries):
    doc_type = required_types()[0]
    stored(awaiting, doc_type)
    # 1 user, 2 the application (applicant, dealer and product joined), 3 the types review
    # requires, 4 the reviewer's requests (the types this application needs); the checklist:
    # 5 every document with its rejection reason, 6-8 the types still owed (documents on file,
    # required types, requests); 9 the unread count in the navbar's inbox link; 10 the documents
    # of this type. (The session comes from the cache.)
    with django_assert_num_queries(10):
        signed_in.get(upload_url(awaiting, doc_type))
    for other in required_types()[1:]:
        stored(awaiting, other)
    with django_assert_num_queries(10):
        signed_in.get(upload_url(awaiting, doc_type))
