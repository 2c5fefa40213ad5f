"""Staff sign in with a password and a code from an authenticator app (or a recovery code) when
STAFF_REQUIRE_2FA is on; managers reset a lost one; customers are never asked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SecurityEvent

STAFF_PASSWORD = "a-Long-passphrase-42"  # the root conftest's make_user


@pytest.fixture
def required(settings):
    settings.STAFF_REQUIRE_2FA = True
    return settings


@pytest.fixture
def client_factory():
    """A new browser (its own session), reading English."""
    return lambda: Client(HTTP_ACCEPT_LANGUAGE="en")


def app_code(user) -> str:
    """What the staff member's authenticator app shows now."""
    device = TOTPDevice.objects.get(user=user)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def password_step(client, user):
    response = client.post(reverse("admin:login"), {"username": user.username, "password": STAFF_PASSWORD})
    assert response.status_code == 302, "the password step failed"


def enrol(client, user) -> list[str]:
    """Password, then the app set up; returns the recovery codes the page shows."""
    password_step(client, user)
    client.get(reverse("accounts:second_factor_enrol"))
    response = client.post(
        reverse("accounts:second_factor_enrol"), {"code": app_code(user), "next": "/admin/"}
    )
    assert response.status_code == 200
    return re.findall(r"<code>([a-z2-7]{8})</code>", response.content.decode())


def test_staff_enrol_at_first_sign_in_get_recovery_codes_once_then_reach_the_admin(
    client, reviewer, required
):
    password_step(client, reviewer)
    # Signed in with the password only: every page leads to the second step, the admin too.
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:second_factor')}?next=/admin/"
    response = client.get(response["Location"])
    assert response["Location"] == f"{reverse('accounts:second_factor_enrol')}?next=%2Fadmin%2F"
    assert client.get(reverse("applications:home")).status_code == 302

    page = client.get(reverse("accounts:second_factor_enrol") + "?next=/admin/").content.decode()
    assert '<svg role="img"' in page and "otpauth" not in page  # the QR code drawn, the key not in a URL
    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)

    wrong = client.post(reverse("accounts:second_factor_enrol"), {"code": "000000", "next": "/admin/"})
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # after a wrong code, a short pause
        response = client.post(
            reverse("accounts:second_factor_enrol"), {"code": app_code(reviewer), "next": "/admin/"}
        )
    codes = re.findall(r"<code>([a-z2-7]{8})</code>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert response["Cache-Control"].startswith("max-age=0")  # never_cache: not kept by the browser
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    # Shown once: the enrolment page now leads on, without the codes.
    again = client.get(reverse("accounts:second_factor_enrol") + "?next=/admin/")
    assert again.status_code == 302 and codes[0] not in again.content.decode()
    event = SecurityEvent.objects.get()
    assert (event.kind, event.user, event.actor) == (
        SecurityEvent.Kind.SECOND_FACTOR_ENROLLED,
        reviewer,
        reviewer,
    )


def test_every_later_sign_in_asks_the_app_code_or_a_recovery_code_once(client_factory, reviewer, required):
    codes = enrol(client_factory(), reviewer)

    # A later sign-in, a minute later (the app's code of the enrolment may not be used twice).
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        browser = client_factory()
        password_step(browser, reviewer)
        assert browser.get("/admin/")["Location"].startswith(reverse("accounts:second_factor"))
        assert b"Enter your code" in browser.get(reverse("accounts:second_factor")).content
        wrong = browser.post(reverse("accounts:second_factor"), {"code": "123456", "next": "/admin/"})
        assert wrong.status_code == 200 and browser.get("/admin/").status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):  # past the wrong code's pause
        response = browser.post(
            reverse("accounts:second_factor"), {"code": app_code(reviewer), "next": "/admin/"}
        )
        assert response["Location"] == "/admin/"
        assert browser.get("/admin/").status_code == 200

        # Without the phone: a recovery code, typed in capitals with a space, works once.
        spelled = f"{codes[0][:4].upper()} {codes[0][4:]}"
        for attempt in range(2):
            other = client_factory()
            password_step(other, reviewer)
            response = other.post(reverse("accounts:second_factor"), {"code": spelled, "next": "/admin/"})
            if attempt == 0:
                assert response["Location"] == "/admin/"
                assert other.get("/admin/").status_code == 200
            else:
                assert response.status_code == 200 and other.get("/admin/").status_code == 302
    assert StaticDevice.objects.get(user=reviewer).token_set.count() == 9


def test_the_admin_site_itself_refuses_staff_who_owe_the_second_factor(client, reviewer, required):
    required.MIDDLEWARE = [m for m in required.MIDDLEWARE if "StaffSecondFactor" not in m]
    client.force_login(reviewer)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_customers_are_never_asked_for_a_second_factor(client, customer, required):
    client.force_login(customer)
    assert client.get(reverse("applications:home")).status_code == 200
    assert client.get(reverse("accounts:security")).status_code == 200
    assert client.get(reverse("accounts:second_factor"))["Location"] == "/admin/"  # nothing to do there
    assert not TOTPDevice.objects.exists()


def test_staff_owing_the_second_factor_may_still_sign_out(client, reviewer, required):
    password_step(client, reviewer)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not client.get(reverse("applications:home")).wsgi_request.user.is_authenticated


def test_a_manager_resets_a_colleagues_lost_app_and_the_colleague_enrols_again(
    client_factory, reviewer, manager, required
):
    enrol(colleague := client_factory(), reviewer)
    assert colleague.get("/admin/").status_code == 200
    boss = client_factory()
    enrol(boss, manager)

    changelist = reverse("admin:reviews_staffmember_changelist")
    response = boss.post(changelist, {"action": "reset_second_factor", "_selected_action": [reviewer.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert not StaticDevice.objects.filter(user=reviewer).exists()
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SECOND_FACTOR_RESET)
    assert (event.user, event.actor) == (reviewer, manager) and event.at
    # Whoever held the colleague's session is out (it cannot enrol an app of its own)...
    assert colleague.get("/admin/")["Location"].startswith("/admin/login/")
    # ... and the colleague's next sign-in sets up the app again.
    enrol(client_factory(), reviewer)
    assert TOTPDevice.objects.get(user=reviewer).confirmed


def test_only_managers_see_the_staff_sign_in_list(client, reviewer, manager):
    changelist = reverse("admin:reviews_staffmember_changelist")
    client.force_login(reviewer)
    assert client.get(changelist).status_code == 403
    response = client.post(changelist, {"action": "sign_out", "_selected_action": [manager.pk]})
    assert response.status_code == 403
    client.force_login(manager)
    page = client.get(changelist).content.decode()
    assert "reviewer" in page and "customer" not in page
