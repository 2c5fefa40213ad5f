"""Sessions end after their idle and absolute limits; customers sign out everywhere; managers sign
a staff member out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import SecurityEvent


@pytest.fixture(autouse=True)
def limits(settings):
    """The limits as deployed (the test settings switch them off for everyone else's tests)."""
    settings.SESSION_IDLE_SECONDS_STAFF = 30 * 60
    settings.SESSION_ABSOLUTE_SECONDS_STAFF = 12 * 3600
    settings.SESSION_IDLE_SECONDS_CUSTOMER = 2 * 3600
    settings.SESSION_ABSOLUTE_SECONDS_CUSTOMER = 0
    return settings


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def signed_in(user) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(user)
    return browser


def is_signed_in(browser: Client) -> bool:
    return browser.get(reverse("applications:home")).wsgi_request.user.is_authenticated


def test_staff_are_signed_out_after_30_minutes_without_a_request(clock, reviewer):
    browser = signed_in(reviewer)
    clock.shift(timedelta(minutes=29))
    assert browser.get("/admin/").status_code == 200
    clock.shift(timedelta(minutes=29))  # 58 minutes after signing in, 29 after the last request
    assert browser.get("/admin/").status_code == 200
    clock.shift(timedelta(minutes=30))
    response = browser.get("/admin/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    assert "signed out after a period without activity" in response.content.decode()


def test_staff_sign_in_again_12_hours_after_signing_in_however_active(clock, reviewer):
    browser = signed_in(reviewer)
    for _ in range(11 * 3 + 2):  # a request every 20 minutes for 11 h 40 min
        clock.shift(timedelta(minutes=20))
        assert browser.get("/admin/").status_code == 200
    clock.shift(timedelta(minutes=20))
    response = browser.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_customers_stay_signed_in_while_active_and_are_signed_out_after_2_idle_hours(clock, customer):
    browser = signed_in(customer)
    for _ in range(13):  # 13 hours, a request every hour: no absolute limit for customers
        clock.shift(timedelta(hours=1))
        assert is_signed_in(browser)
    clock.shift(timedelta(hours=1, minutes=59))
    assert is_signed_in(browser)
    clock.shift(timedelta(hours=2))
    assert not is_signed_in(browser)


def test_the_session_cookie_and_store_expire_an_hour_after_the_idle_limit(clock, customer, reviewer):
    """Kept an hour past the limit, so that who comes back within it reads why they were signed out."""
    kept = settings.SESSION_KEPT_AFTER_IDLE_SECONDS
    assert kept == 3600
    browser = signed_in(customer)
    assert browser.session.get_expiry_age() == settings.SESSION_IDLE_SECONDS_CUSTOMER + kept
    clock.shift(timedelta(minutes=5))
    response = browser.get(reverse("applications:home"))  # moves the expiry on
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_SECONDS_CUSTOMER + kept
    assert signed_in(reviewer).session.get_expiry_age() == 30 * 60 + kept


def test_an_active_session_is_written_at_most_once_a_minute(clock, customer):
    browser = signed_in(customer)
    clock.shift(timedelta(seconds=61))
    response = browser.get(reverse("accounts:security"))
    assert "sessionid" in response.cookies  # written: the expiry moved on
    clock.shift(timedelta(seconds=30))
    response = browser.get(reverse("accounts:security"))
    assert "sessionid" not in response.cookies  # not written again within the minute


def test_a_customer_signs_out_everywhere_from_the_account_page(client, customer):
    phone, laptop = signed_in(customer), signed_in(customer)
    page = phone.get(reverse("accounts:security")).content.decode()
    assert "Sign out everywhere" in page and "after 120 minutes without activity" in page
    response = phone.post(reverse("accounts:sign_out_everywhere"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert "signed out on every device" in response.content.decode()
    assert not is_signed_in(phone) and not is_signed_in(laptop)
    event = SecurityEvent.objects.get()
    assert (event.kind, event.user, event.actor) == (
        SecurityEvent.Kind.SIGNED_OUT_EVERYWHERE,
        customer,
        customer,
    )
    # The password still works: signing in again starts a new session that stays.
    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    again.post(reverse("accounts:login"), {"username": "customer", "password": "a-Long-passphrase-42"})
    assert is_signed_in(again)


def test_sign_out_everywhere_is_a_post_for_signed_in_people_only(client, customer):
    assert client.post(reverse("accounts:sign_out_everywhere"))["Location"].startswith(
        reverse("accounts:login")
    )
    browser = signed_in(customer)
    assert browser.get(reverse("accounts:sign_out_everywhere")).status_code == 405
    assert is_signed_in(browser)


def test_a_manager_signs_a_staff_member_out_on_every_device(reviewer, manager):
    colleague = signed_in(reviewer)
    boss = signed_in(manager)
    changelist = reverse("admin:reviews_staffmember_changelist")
    response = boss.post(changelist, {"action": "sign_out", "_selected_action": [reviewer.pk]}, follow=True)
    assert "Signed out 1 staff member on every device." in response.content.decode()
    assert colleague.get("/admin/").status_code == 302
    assert boss.get("/admin/").status_code == 200
    event = SecurityEvent.objects.get()
    assert (event.kind, event.user, event.actor) == (
        SecurityEvent.Kind.SIGNED_OUT_EVERYWHERE,
        reviewer,
        manager,
    )
