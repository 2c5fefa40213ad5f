"""A dealer's walk-in buyer, through the services: the dealer starts the file, the buyer claims it
with the texted link and code and makes it theirs; the dealer uploads what the dealership holds
and never answers the offer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.otp.services import CodeInvalid
from accounts.roles import Role
from applications import services
from applications.choices import DocumentStatus, EventKind, Stage
from applications.models import DocumentType, LoanApplication, WalkInClaim
from applications.services import dealer as dealer_services
from applications.tests.factories import (
    BUYER_PHONE,
    PDF,
    DealerFactory,
    at_offer,
    claim_token_from_sms,
    code_from_sms,
    in_review,
    start_walk_in,
    walk_in_fields,
)
from common import sms
from common.pii import keyed_hash

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    """The code limits count in the shared cache: each test starts with none counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def buyer(make_user):
    user = make_user("buyer", Role.CUSTOMER)
    user.set_phone(BUYER_PHONE)
    user.save(update_fields=["phone", "phone_hash"])
    return user


def started(dealer, dealer_user, django_capture_on_commit_callbacks, **changes) -> LoanApplication:
    with django_capture_on_commit_callbacks(execute=True):
        return start_walk_in(dealer, dealer_user, **changes)


# --- Starting ---------------------------------------------------------------------------------------


def test_a_dealer_starts_a_draft_for_their_dealership_with_the_car_and_the_loan(
    dealer, dealer_user, django_capture_on_commit_callbacks
):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)

    assert application.stage == Stage.DRAFT
    assert application.dealer == dealer
    assert application.customer is None
    assert application.created_by == dealer_user
    assert application.has_vehicle() and application.has_loan()
    assert application.requested_amount == Decimal("140000.00")
    assert not application.consents.exists()  # the buyer consents, never the dealer
    claim = application.walk_in
    assert claim.buyer_name == "李娜"
    assert claim.buyer_phone_hash == keyed_hash(BUYER_PHONE)


def test_the_buyer_is_texted_a_link_with_an_opaque_token_and_nothing_else(
    dealer, dealer_user, django_capture_on_commit_callbacks
):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)

    [text] = sms.outbox
    assert text.phone == BUYER_PHONE
    token = claim_token_from_sms(sms.outbox)
    assert dealer.name in text.message.text
    assert BUYER_PHONE not in text.message.text and application.reference not in text.message.text
    claim = dealer_services.claim_for_token(token)
    assert claim is not None and claim.application == application
    assert claim.token_hash != token  # only its keyed hash is kept


def test_a_typed_number_is_canonicalised_before_it_is_stored(
    dealer, dealer_user, django_capture_on_commit_callbacks
):
    application = started(
        dealer, dealer_user, django_capture_on_commit_callbacks, buyer_phone="１３９ 1234 5678"
    )

    assert application.walk_in.buyer_phone == BUYER_PHONE
    assert sms.outbox[0].phone == BUYER_PHONE


def test_nothing_is_written_or_texted_when_the_loan_does_not_fit(
    dealer, dealer_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
        start_walk_in(dealer, dealer_user, down_payment=Decimal("1000.00"))

    assert "down_payment" in refused.value.message_dict
    assert not LoanApplication.objects.exists() and not WalkInClaim.objects.exists()
    assert sms.outbox == []


def test_a_bad_name_and_number_are_both_reported(dealer, dealer_user):
    with pytest.raises(ValidationError) as refused:
        services.walk_in_start(
            dealer=dealer, actor=dealer_user, buyer_name=" ", buyer_phone="12345", **walk_in_fields()
        )

    assert set(refused.value.message_dict) == {"buyer_name", "buyer_phone"}


def test_an_unknown_field_is_a_programming_error(dealer, dealer_user):
    with pytest.raises(TypeError):
        services.walk_in_start(
            dealer=dealer,
            actor=dealer_user,
            buyer_name="李娜",
            buyer_phone=BUYER_PHONE,
            **walk_in_fields(colour="red"),
        )


@pytest.mark.parametrize("persona", ["other_dealer", "customer", "reviewer"])
def test_only_the_dealerships_staff_may_start_a_file_for_it(persona, dealer, make_user, customer, reviewer):
    other = make_user("other_dealer_staff", Role.DEALER)
    DealerFactory().staff.add(other)
    actor = {"other_dealer": other, "customer": customer, "reviewer": reviewer}[persona]

    with pytest.raises(PermissionDenied):
        start_walk_in(dealer, actor)
    assert not LoanApplication.objects.exists()


def test_one_person_may_serve_several_dealerships(dealer, dealer_user, django_capture_on_commit_callbacks):
    second = DealerFactory()
    second.staff.add(dealer_user)

    application = started(second, dealer_user, django_capture_on_commit_callbacks)

    assert application.dealer == second


def test_a_new_link_replaces_the_old_one(dealer, dealer_user, django_capture_on_commit_callbacks):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)
    first = claim_token_from_sms(sms.outbox)

    with django_capture_on_commit_callbacks(execute=True):
        services.walk_in_link_send(application=application, actor=dealer_user)

    second = claim_token_from_sms(sms.outbox)
    assert second != first
    assert dealer_services.claim_for_token(first) is None
    assert dealer_services.claim_for_token(second).application == application


# --- The buyer claims it ----------------------------------------------------------------------------


def test_the_buyer_proves_the_number_with_a_code_and_takes_the_file_over(
    dealer, dealer_user, buyer, django_capture_on_commit_callbacks
):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)
    claim = dealer_services.claim_for_token(claim_token_from_sms(sms.outbox))

    dealer_services.claim_code_send(claim=claim, client_ip="203.0.113.5")
    dealer_services.claim_code_verify(claim=claim, code=code_from_sms(sms.outbox))
    claimed = services.walk_in_claim(claim=claim, user=buyer)

    assert claimed.customer == buyer
    assert claimed.dealer == dealer  # the dealership keeps it
    claim.refresh_from_db()
    assert claim.claimed_by == buyer and claim.claimed_at is not None
    last = application.events.order_by("-sequence").first()
    assert (last.kind, last.actor, last.data) == (EventKind.NOTE, buyer, {"action": "claimed"})


def test_a_code_sent_for_one_claim_does_not_prove_another(
    dealer, dealer_user, django_capture_on_commit_callbacks
):
    started(dealer, dealer_user, django_capture_on_commit_callbacks)
    claim = dealer_services.claim_for_token(claim_token_from_sms(sms.outbox))
    dealer_services.claim_code_send(claim=claim, client_ip="203.0.113.5")
    other = started(dealer, dealer_user, django_capture_on_commit_callbacks)
    other_claim = other.walk_in  # the same number, another file: a code is bound to its own claim

    with pytest.raises(CodeInvalid):
        dealer_services.claim_code_verify(claim=other_claim, code=code_from_sms(sms.outbox))


def test_only_an_account_with_the_buyers_number_may_claim(
    dealer, dealer_user, customer, django_capture_on_commit_callbacks
):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)

    with pytest.raises(PermissionDenied):
        services.walk_in_claim(claim=application.walk_in, user=customer)  # no number on file
    customer.set_phone("13700000000")
    customer.save()
    with pytest.raises(PermissionDenied):
        services.walk_in_claim(claim=application.walk_in, user=customer)
    with pytest.raises(PermissionDenied):
        services.walk_in_claim(claim=application.walk_in, user=dealer_user)
    application.refresh_from_db()
    assert application.customer is None


def test_a_file_is_claimed_once(dealer, dealer_user, buyer, django_capture_on_commit_callbacks):
    application = started(dealer, dealer_user, django_capture_on_commit_callbacks)
    services.walk_in_claim(claim=application.walk_in, user=buyer)

    with pytest.raises(services.TransitionRefused):
        services.walk_in_claim(claim=WalkInClaim.objects.get(), user=buyer)
    with pytest.raises(services.TransitionRefused):
        services.walk_in_link_send(application=application, actor=dealer_user)


# --- Documents and the offer ------------------------------------------------------------------------


def upload_as(application, actor, code="vehicle_invoice", content=PDF):
    return services.dealer_document_upload(
        application=application,
        document_type=DocumentType.objects.get(code=code),
        uploaded_file=SimpleUploadedFile(f"{code}.pdf", content, content_type="application/pdf"),
        actor=actor,
    )


@pytest.mark.parametrize("code", ["vehicle_invoice", "vehicle_certificate"])
def test_the_dealer_uploads_the_documents_the_dealership_holds(code, dealer, dealer_user, customer):
    application = in_review(customer, dealer)

    document = upload_as(application, dealer_user, code)

    assert document.status == DocumentStatus.PENDING
    assert document.uploaded_by == dealer_user
    assert application.events.filter(kind=EventKind.DOCUMENT, actor=dealer_user).exists()


def test_a_dealer_upload_passes_the_same_content_check(dealer, dealer_user, customer):
    application = in_review(customer, dealer)

    with pytest.raises(ValidationError) as refused:
        upload_as(application, dealer_user, content=b"not a pdf at all")
    assert "file" in refused.value.message_dict


def test_a_dealer_uploads_no_document_of_the_buyers_own(dealer, dealer_user, customer):
    application = in_review(customer, dealer)

    with pytest.raises(ValidationError):
        upload_as(application, dealer_user, code="id_card_front")


def test_another_dealership_cannot_upload(dealer, make_user, customer):
    other = make_user("other_dealer_staff", Role.DEALER)
    DealerFactory().staff.add(other)
    application = in_review(customer, dealer)

    with pytest.raises(PermissionDenied):
        upload_as(application, other)


def test_the_dealer_cannot_answer_the_offer_for_the_buyer(dealer, dealer_user, customer, reviewer, approver):
    offered = at_offer(customer, dealer, reviewer, approver)

    with pytest.raises(PermissionDenied):
        services.offer_accept(application=offered, actor=dealer_user)
    with pytest.raises(PermissionDenied):
        services.offer_decline(application=offered, actor=dealer_user)

    accepted = services.offer_accept(application=offered, actor=customer)
    assert accepted.stage == Stage.CONTRACT_SIGNING
