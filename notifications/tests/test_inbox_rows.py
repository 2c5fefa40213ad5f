"""Stage changes write inbox rows in the same transaction, once per event."""

from __future__ import annotations

import pytest
from django.db import transaction

from applications import services
from applications.choices import Stage
from applications.models import Reason
from applications.tests.factories import make_draft
from applications.transitions import Notice
from notifications.choices import Kind
from notifications.models import Notification
from notifications.services import notification_create, notifications_mark_read
from notifications.texts import render


def test_customer_gets_one_notification_per_stage_change_they_care_about(draft, customer):
    application = services.application_submit(application=draft, actor=customer)
    application = services.precheck_start(application=application)
    services.precheck_request_documents(application=application)
    # submitted and credit_check are seconds apart: one message, about the documents.
    assert list(Notification.objects.values_list("kind", flat=True)) == [Kind.DOCUMENTS_REQUESTED]
    assert Notification.objects.get().context["stage"] == Stage.AWAITING_DOCUMENTS


def test_a_rolled_back_change_leaves_no_notification(draft, customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        application = services.application_submit(application=draft, actor=customer)
        services.precheck_request_documents(application=services.precheck_start(application=application))
        raise RuntimeError("the request failed after the transition")
    assert not Notification.objects.exists()
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


def test_the_same_dedupe_key_creates_one_row(customer):
    first = notification_create(recipient_id=customer.pk, kind=Kind.STAGE_CHANGED, dedupe_key="k1")
    again = notification_create(recipient_id=customer.pk, kind=Kind.STAGE_CHANGED, dedupe_key="k1")
    assert first is not None and again is None
    assert Notification.objects.count() == 1


def test_walk_in_application_without_an_account_notifies_nobody(dealer_user, dealer):
    application = make_draft(customer=None, dealer=dealer, created_by=dealer_user)
    application = services.application_submit(application=application, actor=dealer_user)
    services.precheck_request_documents(application=services.precheck_start(application=application))
    assert not Notification.objects.exists()


def test_mark_read_touches_only_the_recipients_rows(customer, other_customer):
    mine = notification_create(recipient_id=customer.pk, kind=Kind.STAGE_CHANGED, dedupe_key="a")
    theirs = notification_create(recipient_id=other_customer.pk, kind=Kind.STAGE_CHANGED, dedupe_key="b")
    assert notifications_mark_read(recipient=customer, ids=[mine.pk, theirs.pk]) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_rejected_document_tells_the_customer_why(draft, customer, reviewer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from applications.models import DocumentType, Reason
    from applications.services.documents import document_reject, document_upload

    document = document_upload(
        application=draft,
        document_type=DocumentType.objects.get(code="id_card_front"),
        uploaded_file=SimpleUploadedFile("id.pdf", b"%PDF-1.4 scan", content_type="application/pdf"),
        actor=customer,
    )
    document_reject(document=document, actor=reviewer, reason=Reason.objects.get(code="photo_unreadable"))
    notification = Notification.objects.get(kind=Kind.DOCUMENT_REJECTED)
    assert notification.recipient == customer
    assert notification.context == {"document_type": "id_card_front", "reason": "photo_unreadable"}


def test_a_rejection_tells_the_customer_the_decision_with_its_reason(draft, customer, reviewer):
    application = services.application_submit(application=draft, actor=customer)
    application = services.precheck_pass(application=services.precheck_start(application=application))
    services.review_reject(
        application=application, actor=reviewer, reason=Reason.objects.get(code="credit_history")
    )
    rows = list(Notification.objects.filter(recipient=customer).order_by("pk"))
    assert [(n.kind, n.context["stage"]) for n in rows] == [
        (Kind.STAGE_CHANGED, Stage.UNDER_REVIEW),
        (Kind.DECISION, Stage.REJECTED),
    ]
    assert rows[-1].context["reason"] == "credit_history"
    assert rows[-1].application_id == application.pk


@pytest.mark.parametrize("notice", list(Notice))
def test_every_message_the_transitions_registry_names_has_words(customer, notice):
    notification = Notification(recipient=customer, kind=Kind(notice), context={"stage": Stage.APPROVAL})
    assert render(notification).title == str(Kind(notice).label)  # not the words of an unknown kind
