"""A file's status and history in the customer's words: what the timeline says, no staff names,
no internal notes."""

from __future__ import annotations

import pytest

from applications import services
from applications.choices import Stage
from applications.models import DocumentType, Reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(own_file, customer, reviewer):
    application = services.application_submit(application=own_file, actor=customer)
    application = services.precheck_start(application=application)
    return services.precheck_pass(application=application)


def test_status_in_the_customers_words(api, in_review, reader):
    body = api.get(f"/api/v1/applications/{in_review.display_reference}/", **reader).json()
    assert body["stage"] == Stage.UNDER_REVIEW
    assert body["milestone"]["number"] == 2
    assert body["title"] and body["explanation"]
    assert body["offer"] is None
    assert body["is_final"] is False


def test_history_has_no_staff_names_or_notes(api, in_review, reader, reviewer):
    reason = Reason.objects.filter(kind="document", is_active=True).first()
    document_type = DocumentType.objects.order_by("code").first()
    services.review_request_documents(
        application=in_review,
        actor=reviewer,
        document_types=[document_type],
        reason=reason,
        note="internal: call the buyer's employer",
    )
    body = api.get(f"/api/v1/applications/{in_review.reference}/history/", **reader)
    text = body.content.decode()
    entries = body.json()["entries"]
    titles = [entry["title"] for entry in entries]
    assert "The credit review needs more documents from you" in titles[:2]  # newest first
    assert titles.index("The credit review needs more documents from you") < titles.index(
        "Pre-check passed: your application went to credit review"
    )
    assert entries[-1]["title"] == "Application started"
    assert reviewer.username not in text
    assert "internal" not in text
    status = api.get(f"/api/v1/applications/{in_review.reference}/", **reader).json()
    assert status["stage"] == Stage.AWAITING_DOCUMENTS
    assert document_type.code in [need["document_type"] for need in status["documents_needed"]]


def test_the_reference_may_be_typed_with_its_dash_and_in_lower_case(api, own_file, reader):
    typed = own_file.display_reference.lower()
    assert api.get(f"/api/v1/applications/{typed}/", **reader).status_code == 200


def test_status_and_history_read_a_fixed_number_of_queries(api, in_review, reader, django_assert_num_queries):
    base = f"/api/v1/applications/{in_review.reference}/"
    api.get(base, **reader)  # the configuration, the delay prediction and the key's last use, once
    api.get(f"{base}history/", **reader)
    # 1. the key with its dealership and API user, 2. the file with its buyer, product and cause
    # of delay, 3. its events (stage changes and partner steps, windowed), 4. its documents,
    # 5. its document requests.
    with django_assert_num_queries(5):
        api.get(base, **reader)
    with django_assert_num_queries(5):
        api.get(f"{base}history/", **reader)
