"""Sign-in throttling with django-axes: five wrong passwords pause one account on one address.

The test settings switch axes off (the test client's login() passes no request to authenticate()),
so every test here switches it on with the `settings` fixture: axes reads AXES_ENABLED on each
call, and its handler and middleware are already installed, so nothing else needs resetting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertRedirects, assertTemplateUsed

from accounts.throttling import axes_username, sign_in_key

from .builders import PASSWORD, PHONE

SIGN_IN = reverse("accounts:login")
HOME = reverse("applications:home")
ATTACKER = "203.0.113.7"
CUSTOMER_AT_HOME = "198.51.100.20"
LOCKED = 429  # AXES_HTTP_RESPONSE_CODE's default: Too Many Requests
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True


def attempt(client, identifier=PHONE, password=PASSWORD, ip=ATTACKER):
    return client.post(SIGN_IN, {"username": identifier, "password": password}, REMOTE_ADDR=ip)


def fail(client, times, identifier=PHONE, ip=ATTACKER):
    return [attempt(client, identifier, "wrong-Password-1", ip).status_code for _ in range(times)]


def test_five_wrong_passwords_pause_the_account_on_that_address_even_for_the_right_one(
    client, phone_customer
):
    assert fail(client, 4) == [200] * 4  # the form again, with its message

    assert fail(client, 1) == [LOCKED]  # the fifth failure pauses the pair at once
    response = attempt(client)  # the RIGHT password, from the same address

    assert response.status_code == LOCKED
    assertTemplateUsed(response, "accounts/locked_out.html")
    assertContains(response, "paused for 15 minutes", status_code=LOCKED)
    assertContains(response, f'href="{reverse("accounts:password_reset")}"', status_code=LOCKED)
    assert "_auth_user_id" not in client.session


def test_the_same_account_still_signs_in_from_another_address(client, phone_customer):
    fail(client, 5)

    response = attempt(client, ip=CUSTOMER_AT_HOME)

    assertRedirects(response, HOME, fetch_redirect_response=False)
    client.post(reverse("accounts:logout"))
    assert attempt(client).status_code == LOCKED  # the attacker's address stays paused


def test_the_pause_lifts_by_itself_after_15_minutes(client, phone_customer):
    fail(client, 5)
    assert attempt(client).status_code == LOCKED

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = attempt(client)

    assertRedirects(response, HOME, fetch_redirect_response=False)
    assert not AccessAttempt.objects.exists()  # a successful sign-in clears the count


def test_a_pause_is_not_lifted_early(client, phone_customer):
    fail(client, 5)

    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        assert attempt(client, ip=ATTACKER).status_code == LOCKED


def test_trying_during_the_pause_does_not_make_it_longer(client, phone_customer):
    start = timezone.now()
    fail(client, 5)
    with time_machine.travel(start + timedelta(minutes=10)):
        assert attempt(client).status_code == LOCKED

    with time_machine.travel(start + timedelta(minutes=16)):
        response = attempt(client)

    assertRedirects(response, HOME, fetch_redirect_response=False)


def test_writing_the_number_differently_does_not_buy_more_tries(client, phone_customer):
    spellings = ["13812345678", "138 1234 5678", "+8613812345678", "0086 138-1234-5678", "138-1234-5678"]
    for spelling in spellings:
        attempt(client, spelling, "wrong-Password-1")

    assert attempt(client, phone_customer.username).status_code == LOCKED
    assert AccessAttempt.objects.get().username == phone_customer.username


def test_email_and_phone_of_one_account_share_one_count(client, make_user):
    from accounts.services import user_sign_up

    user = user_sign_up(phone_or_email="li.na@example.cn", password=PASSWORD)
    user.set_phone(PHONE)
    user.save()
    for identifier in ["li.na@example.cn", "LI.NA@example.cn", PHONE, "138 1234 5678", user.username]:
        attempt(client, identifier, "wrong-Password-1")

    assert attempt(client, "Li.Na@Example.cn").status_code == LOCKED


def test_an_unknown_number_is_paused_alike_and_axes_never_stores_it_in_clear(client, phone_customer):
    fail(client, 5, identifier="139 1234 5678")

    response = attempt(client, "13912345678")

    assert response.status_code == LOCKED  # the same page: it does not tell whether the account exists
    stored = AccessAttempt.objects.get()
    assert stored.username.startswith("?")
    assert "13912345678" not in stored.username and "1234" not in stored.post_data


def test_a_successful_sign_in_by_phone_clears_the_earlier_failures(client, phone_customer):
    fail(client, 4)
    assert attempt(client, "138 1234 5678").status_code == 302
    client.post(reverse("accounts:logout"))

    assert fail(client, 4) == [200] * 4  # a fresh count of five


def test_resetting_the_password_by_email_lifts_the_pause(client, email_customer):
    fail(client, 5, identifier="li.na@example.cn")
    assert attempt(client, "li.na@example.cn").status_code == LOCKED

    client.post(reverse("accounts:password_reset"), {"email": "li.na@example.cn"}, REMOTE_ADDR=ATTACKER)
    link = mail.outbox[0].body.split("http://testserver", 1)[1].split()[0]
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": "Jade-rabbit-2031", "new_password2": "Jade-rabbit-2031"})

    response = attempt(client, "li.na@example.cn", "Jade-rabbit-2031")

    assertRedirects(response, HOME, fetch_redirect_response=False)


def test_the_throttling_key_is_the_user_name_for_every_spelling(phone_customer, email_customer, rf):
    assert sign_in_key(" +86 138 1234 5678 ") == phone_customer.username
    assert sign_in_key("LI.NA@EXAMPLE.CN") == email_customer.username
    assert sign_in_key(email_customer.username) == email_customer.username
    assert sign_in_key("staff-name") == "staff-name"  # a user name, known or not, is kept as typed
    unknown = sign_in_key("13912345678")
    assert unknown == sign_in_key("139-1234-5678") and sign_in_key(unknown) == unknown
    request = rf.post(SIGN_IN, {"username": "138 1234 5678"})
    assert axes_username(request, None) == phone_customer.username
    assert axes_username(request, {"username": phone_customer.username}) == phone_customer.username


def test_behind_a_proxy_the_forwarded_address_is_the_clients(rf, settings):
    from accounts.throttling import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "203.0.113.9"  # the proxy's entry; the left-hand one is the client's claim
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"


def test_a_sign_in_made_without_a_client_address_is_logged_without_one(settings, customer):
    """A sign-in with no REMOTE_ADDR (made in-process) is recorded by axes with no address, instead
    of failing on the placeholder the rate limits count it under."""
    from axes.models import AccessLog
    from django.contrib.auth import login
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    settings.AXES_ENABLED = True
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    request.session = SessionStore()
    login(request, customer, backend="django.contrib.auth.backends.ModelBackend")
    assert AccessLog.objects.filter(username=customer.username, ip_address__isnull=True).exists()
