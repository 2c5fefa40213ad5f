"""Tracking without an account: reference + mobile number + a code texted to it; read-only and
masked, rate-limited per client address (the one the proxy saw) and per reference."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from applications import ratelimit
from applications.choices import Stage
from common import sms
from common.identifiers import canonical_phone

from .factories import at_offer, awaiting_documents, in_review, make_draft, text_of, valid_id_number

pytestmark = pytest.mark.django_db

TRACK = "/track/"
CODE = "/track/code/"
PHONE = "13812345678"  # make_draft's default
WRONG_CODE = "The code is wrong or has expired. Check it, or ask for a new one."


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def ask(client, reference: str, phone: str, ip: str = "203.0.113.7", **headers):
    """Step 1: the reference and the number."""
    return client.post(
        TRACK, {"reference": reference, "phone": phone}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en", **headers
    )


def enter(client, code: str, ip: str = "203.0.113.7"):
    """Step 2: the code from the text message."""
    return client.post(CODE, {"code": code}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")


def codes_sent(phone: str = PHONE) -> list[str]:
    """The codes texted to the number, as the customer reads them (the tests' SMS backend)."""
    return [
        sent.message.params["code"]
        for sent in sms.outbox
        if sent.phone == phone and "code" in sent.message.params
    ]


def track(client, reference: str, phone: str, ip: str = "203.0.113.7"):
    assert ask(client, reference, phone, ip).status_code == 302
    return enter(client, codes_sent(canonical_phone(phone))[-1], ip)


def test_the_form_is_public_and_posts_nothing_in_the_url(client):
    response = client.get(TRACK, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'method="post"' in html and f'action="{reverse("applications:track")}"' in html


def test_reference_phone_and_the_code_texted_show_the_read_only_masked_timeline(
    client, customer, dealer, reviewer, approver
):
    application = at_offer(customer, dealer, reviewer, approver)
    asked = ask(client, application.display_reference, PHONE)
    assert asked["Location"] == CODE and len(codes_sent()) == 1
    assert "138****5678" in text_of(client.get(CODE, HTTP_ACCEPT_LANGUAGE="en"))

    response = enter(client, codes_sent()[0])
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


def test_the_reference_and_number_alone_show_nothing(client, customer, dealer):
    application = in_review(customer, dealer)
    ask(client, application.reference, PHONE)
    right = codes_sent()[0]
    for attempt in (client.get(CODE), enter(client, f"{(int(right) + 1) % 10**6:06d}")):
        assert "timeline" not in attempt.context
    assert WRONG_CODE in text_of(enter(client, "000000" if right != "000000" else "111111"))


def test_a_code_shows_the_file_once(client, customer, dealer):
    application = in_review(customer, dealer)
    assert "timeline" in track(client, application.reference, PHONE).context
    again = enter(client, codes_sent()[-1])
    assert again.status_code == 302 and again["Location"] == TRACK


def test_the_read_only_timeline_lists_what_is_needed_without_upload_buttons(
    client, customer, dealer, reviewer
):
    application = awaiting_documents(customer, dealer, reviewer)
    response = track(client, application.reference.lower(), "+86 138 1234 5678")
    assert response.status_code == 200
    assert "Bank statement" in text_of(response)
    assert "/documents/" not in response.content.decode()


@pytest.mark.parametrize("wrong", ["reference", "phone"])
def test_a_wrong_reference_and_a_wrong_phone_get_the_same_answer_and_no_code(client, customer, dealer, wrong):
    application = in_review(customer, dealer)
    reference = "ABCDEFGHJK" if wrong == "reference" else application.reference
    phone = "13900000000" if wrong == "phone" else PHONE
    asked = ask(client, reference, phone)
    assert asked.status_code == 302 and asked["Location"] == CODE  # as for a match
    assert sms.outbox == []
    response = enter(client, "123456")
    assert WRONG_CODE in text_of(response)
    assert "timeline" not in response.context


def test_a_mistyped_phone_is_explained_next_to_the_field(client):
    response = ask(client, "ABCDE-FGHJK", "12345")
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "Enter a mainland China mobile number: 11 digits starting with 1."
    ]


def test_a_draft_cannot_be_tracked(client, customer, dealer):
    draft = make_draft(customer=customer, dealer=dealer)
    assert ask(client, draft.reference, PHONE).status_code == 302
    assert sms.outbox == []


def test_the_sixth_attempt_in_a_minute_from_one_address_is_refused(client, customer, dealer):
    application = in_review(customer, dealer)
    for number in range(5):
        assert ask(client, f"ABCDEFGHJ{number + 2}", f"1390000000{number}").status_code == 302
    response = ask(client, application.reference, PHONE)  # right this time, but too many tries
    assert response.status_code == 429
    assert "Too many attempts. Please wait a minute and try again." in text_of(response)
    assert ask(client, application.reference, PHONE, ip="198.51.100.9").status_code == 302


def test_behind_a_proxy_each_client_address_has_its_own_limit(client, settings, customer, dealer):
    """TRUSTED_PROXY_COUNT=1: the address the proxy appended is the client's, not the proxy's own."""
    settings.TRUSTED_PROXY_COUNT = 1
    application = in_review(customer, dealer)
    proxy = "10.0.0.2"
    for number in range(5):
        forwarded = f"6.6.6.{number}, 198.51.100.1"  # the left-hand part is the client's claim: ignored
        asked = ask(
            client, f"ABCDEFGHJ{number + 2}", f"1390000000{number}", ip=proxy, HTTP_X_FORWARDED_FOR=forwarded
        )
        assert asked.status_code == 302
    assert (
        ask(client, application.reference, PHONE, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code
        == 429
    )
    other = ask(client, application.reference, PHONE, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 302  # another customer behind the same proxy


def test_the_sixth_attempt_on_one_reference_is_refused_from_any_address(client, customer, dealer):
    application = in_review(customer, dealer)
    for number in range(5):
        ask(client, application.reference, f"1390000000{number}", ip=f"198.51.100.{number}")
    assert ask(client, application.reference, PHONE, ip="192.0.2.99").status_code == 429


def test_successful_lookups_count_too(client, customer, dealer, settings):
    application = in_review(customer, dealer)
    for _ in range(5):  # a code, then "please wait a minute" for another: each counts
        assert ask(client, application.reference, PHONE).status_code != 429
    assert ask(client, application.reference, PHONE).status_code == 429


def test_the_query_string_is_never_used_for_a_lookup(client, customer, dealer):
    application = in_review(customer, dealer)
    response = client.get(TRACK, {"reference": application.reference, "phone": PHONE})
    assert "timeline" not in response.context and sms.outbox == []


def test_the_result_costs_a_fixed_number_of_queries(client, customer, dealer, django_assert_num_queries):
    application = in_review(customer, dealer)
    track(client, application.reference, PHONE)  # warms the stage median's and configuration's caches
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1, seconds=1)):
        ask(client, application.reference, PHONE, ip="192.0.2.1")
        # the newest code for the number; its try counted; it closed; the application by reference
        # and phone hash; events; documents; document requests; the session saved (cached_db:
        # read from the cache, written to the database: one UPDATE inside a savepoint, which is
        # two more statements)
        with django_assert_num_queries(10):
            assert enter(client, codes_sent()[-1], ip="192.0.2.1").status_code == 200
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
