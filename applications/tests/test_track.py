"""Tracking without an account: reference + mobile number, read-only and masked, rate-limited."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from applications import ratelimit
from applications.choices import Stage

from .factories import at_offer, awaiting_documents, in_review, make_draft, text_of, valid_id_number

pytestmark = pytest.mark.django_db

TRACK = "/track/"
PHONE = "13812345678"  # make_draft's default
GENERIC = "We could not find an application with this reference number and mobile number."


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def lookup(client, reference: str, phone: str, ip: str = "203.0.113.7"):
    return client.post(
        TRACK, {"reference": reference, "phone": phone}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en"
    )


def test_the_form_is_public_and_posts_nothing_in_the_url(client):
    response = client.get(TRACK, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'method="post"' in html and f'action="{reverse("applications:track")}"' in html


def test_reference_and_phone_on_file_show_the_read_only_masked_timeline(
    client, customer, dealer, reviewer, approver
):
    application = at_offer(customer, dealer, reviewer, approver)
    response = lookup(client, application.display_reference, PHONE)
    assert response.status_code == 200
    page = text_of(response)
    html = response.content.decode()
    assert "Approval & offer" in page and "Your answer to the offer" in page
    assert "138****5678" in page and PHONE not in html
    assert "110101********" in page and valid_id_number() not in html
    assert "张*" in page and "张伟" not in html
    assert reverse("applications:offer", args=[application.reference]) not in html  # no offer buttons
    assert "Sign in to upload documents or answer the offer." in page
    assert "no-store" in response["Cache-Control"]


def test_the_read_only_timeline_lists_what_is_needed_without_upload_buttons(
    client, customer, dealer, reviewer
):
    application = awaiting_documents(customer, dealer, reviewer)
    response = lookup(client, application.reference.lower(), "+86 138 1234 5678")
    assert response.status_code == 200
    assert "Bank statement" in text_of(response)
    assert "/documents/" not in response.content.decode()


@pytest.mark.parametrize("wrong", ["reference", "phone"])
def test_a_wrong_reference_and_a_wrong_phone_get_the_same_answer(client, customer, dealer, wrong):
    application = in_review(customer, dealer)
    reference = "ABCDEFGHJK" if wrong == "reference" else application.reference
    phone = "13900000000" if wrong == "phone" else PHONE
    response = lookup(client, reference, phone)
    assert response.status_code == 200
    assert GENERIC in text_of(response)
    assert "timeline" not in response.context


def test_a_mistyped_phone_is_explained_next_to_the_field(client):
    response = lookup(client, "ABCDE-FGHJK", "12345")
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "Enter a mainland China mobile number: 11 digits starting with 1."
    ]
    assert GENERIC not in text_of(response)


def test_a_draft_cannot_be_tracked(client, customer, dealer):
    draft = make_draft(customer=customer, dealer=dealer)
    assert GENERIC in text_of(lookup(client, draft.reference, PHONE))


def test_the_sixth_attempt_in_a_minute_from_one_address_is_refused(client, customer, dealer):
    application = in_review(customer, dealer)
    for number in range(5):
        assert lookup(client, f"ABCDEFGHJ{number + 2}", PHONE).status_code == 200
    response = lookup(client, application.reference, PHONE)  # right this time, but too many tries
    assert response.status_code == 429
    assert "Too many attempts. Please wait a minute and try again." in text_of(response)
    assert lookup(client, application.reference, PHONE, ip="198.51.100.9").status_code == 200


def test_the_sixth_attempt_on_one_reference_is_refused_from_any_address(client, customer, dealer):
    application = in_review(customer, dealer)
    for number in range(5):
        lookup(client, application.reference, f"1390000000{number}", ip=f"198.51.100.{number}")
    assert lookup(client, application.reference, PHONE, ip="192.0.2.99").status_code == 429


def test_successful_lookups_count_too(client, customer, dealer):
    application = in_review(customer, dealer)
    for _ in range(5):
        assert lookup(client, application.reference, PHONE).status_code == 200
    assert lookup(client, application.reference, PHONE).status_code == 429


def test_the_query_string_is_never_used_for_a_lookup(client, customer, dealer):
    application = in_review(customer, dealer)
    response = client.get(TRACK, {"reference": application.reference, "phone": PHONE})
    assert "timeline" not in response.context


def test_the_result_costs_a_fixed_number_of_queries(client, customer, dealer, django_assert_num_queries):
    application = in_review(customer, dealer)
    lookup(client, application.reference, PHONE)  # warms the stage median's and configuration's caches
    # the application by reference and phone hash; events; documents; document requests (no
    # session: an anonymous visitor has none; stage definitions, document types and reasons cached)
    with django_assert_num_queries(4):
        assert lookup(client, application.reference, PHONE, ip="192.0.2.1").status_code == 200
    assert application.stage == Stage.UNDER_REVIEW


# --- The rate limit itself ----------------------------------------------------------------------


def test_a_key_gets_its_limit_per_window_then_a_new_window_starts():
    start = 1_800_000_000.0  # the start of a minute
    assert [ratelimit.hit("t", "k", limit=2, now=start + s) for s in (0, 10, 20)] == [True, True, False]
    assert ratelimit.hit("t", "k", limit=2, now=start + 60) is True


def test_keys_and_scopes_are_counted_apart():
    now = 1_800_000_000.0
    assert ratelimit.hit("t", "a", limit=1, now=now)
    assert ratelimit.hit("t", "b", limit=1, now=now)
    assert ratelimit.hit("u", "a", limit=1, now=now)
    assert not ratelimit.hit("t", "a", limit=1, now=now)


def test_the_client_address_ignores_a_forwarded_header(rf):
    request = rf.get("/", REMOTE_ADDR="192.0.2.5", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert ratelimit.client_ip(request) == "192.0.2.5"
