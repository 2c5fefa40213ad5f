"""The walk-in buyer's link page (/claim/<token>/): nothing shows before the number is proved by a
code; then the buyer, signed in with that number, takes the file over and continues it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.roles import Role
from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import (
    BUYER_PHONE,
    apply_step_url,
    claim_token_from_sms,
    code_from_sms,
    detail_url,
    start_walk_in,
    text_of,
    upload,
)
from common import sms

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


@pytest.fixture
def walk_in(dealer, dealer_user, django_capture_on_commit_callbacks) -> tuple[LoanApplication, str]:
    with django_capture_on_commit_callbacks(execute=True):
        application = start_walk_in(dealer, dealer_user)
    return application, reverse("applications:claim", args=[claim_token_from_sms(sms.outbox)])


def prove_number(client, url: str):
    client.post(url, {"action": "send"})
    return client.post(url, {"action": "verify", "code": code_from_sms(sms.outbox)})


def test_the_link_shows_the_dealership_and_the_masked_number_and_nothing_of_the_file(client, walk_in, dealer):
    application, url = walk_in

    page = text_of(client.get(url))

    assert dealer.name in page and "139****5678" in page
    assert BUYER_PHONE not in page and application.vehicle_model not in page and "李" not in page
    assert sms.outbox[-1].message.text.count("/claim/") == 1  # opening the link texts nothing


def test_a_wrong_token_is_not_found(client, walk_in):
    assert client.get(reverse("applications:claim", args=["not-a-token"])).status_code == 404


def test_a_right_code_leads_to_sign_in_with_that_number(client, walk_in):
    _application, url = walk_in

    response = prove_number(client, url)

    assert response.status_code == 302 and response.url == url
    page = client.get(url)
    assert "?next=" in page.content.decode() and "139****5678" in text_of(page)


def test_a_wrong_code_proves_nothing(client, walk_in):
    _application, url = walk_in
    client.post(url, {"action": "send"})

    response = client.post(url, {"action": "verify", "code": "000000"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]


def test_the_buyer_signed_in_with_the_number_claims_the_file_and_continues_it(client, walk_in, buyer):
    application, url = walk_in
    client.force_login(buyer)
    prove_number(client, url)

    confirm = client.get(url)
    assert application.vehicle_model in text_of(confirm)
    response = client.post(url, {"action": "claim"})

    assert response.url == apply_step_url(application, "personal")
    application.refresh_from_db()
    assert application.customer == buyer and application.stage == Stage.DRAFT
    personal = client.get(response.url)
    assert personal.context["form"].initial["full_name"] == "李娜"
    # The link is spent: its owner is sent to the file, anyone else learns nothing.
    assert client.get(url).url == detail_url(application)


def test_a_used_link_tells_another_visitor_nothing(client, walk_in, buyer):
    application, url = walk_in
    client.force_login(buyer)
    prove_number(client, url)
    client.post(url, {"action": "claim"})
    client.logout()

    response = client.get(url)

    assert response.status_code == 410
    assert application.vehicle_model not in text_of(response)


def test_another_customer_who_proved_the_number_still_cannot_take_it(client, walk_in, customer):
    application, url = walk_in
    client.force_login(customer)
    prove_number(client, url)

    assert client.post(url, {"action": "claim"}).status_code == 403
    application.refresh_from_db()
    assert application.customer is None


def test_without_the_code_signing_in_is_not_enough(client, walk_in, buyer):
    application, url = walk_in
    client.force_login(buyer)

    client.post(url, {"action": "claim"})

    application.refresh_from_db()
    assert application.customer is None


def test_the_dealer_cannot_claim_for_the_buyer(client, walk_in, dealer_user):
    application, url = walk_in
    client.force_login(dealer_user)
    prove_number(client, url)  # say the buyer read the code out

    assert client.post(url, {"action": "claim"}).status_code == 403
    application.refresh_from_db()
    assert application.customer is None


def test_neither_the_number_nor_the_code_is_ever_in_an_address(client, walk_in, buyer):
    _application, url = walk_in
    client.force_login(buyer)
    response = prove_number(client, url)
    code = code_from_sms(sms.outbox)

    for address in (url, response.url):
        assert BUYER_PHONE not in address and code not in address


def test_the_dealer_who_started_the_file_never_uses_the_buyers_pages(client, walk_in, dealer_user, buyer):
    application, url = walk_in
    client.force_login(buyer)
    prove_number(client, url)
    client.post(url, {"action": "claim"})
    document = upload(application, "id_card_front", actor=buyer)
    client.force_login(dealer_user)

    download = reverse("applications:document_download", args=[application.reference, document.public_id])
    assert client.get(download).status_code == 404
    assert (
        client.get(
            reverse("applications:document_upload", args=[application.reference, "id_card_front"])
        ).status_code
        == 404
    )
    assert client.get(apply_step_url(application, "consent")).status_code == 403
