"""Signing in, in a real browser: a reviewer sets up an authenticator app at the first sign-in, keeps
the recovery codes, and reaches the queue; the next sign-in asks the app's code. A customer signs
out everywhere from the account menu. Every page a journey visits is checked with axe, and the
browser must report no problem, Content-Security-Policy violations included.

Screenshots in ``test-results/``: second-factor-enrol-1280-zh.png, second-factor-codes-1280-zh.png,
second-factor-verify-1280-zh.png, signing-in-375-zh.png.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect

from accounts.roles import Role
from tests.browser.pages import DESKTOP, BrowserProblems, assert_accessible, screenshot, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"


def app_code(user, *, steps_ahead: int = 0) -> str:
    """What the reviewer's authenticator app shows (``steps_ahead`` 30-second steps from now)."""
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def sign_in_with_password(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()


def test_a_reviewer_enrols_an_authenticator_app_then_signs_in_with_its_code(
    browser: Browser, live_server, settings, django_user_model
):
    settings.STAFF_REQUIRE_2FA = True
    reviewer = django_user_model.objects.create_user(username="li_na", password=PASSWORD, is_staff=True)
    reviewer.groups.set(Group.objects.filter(name=Role.REVIEWER))
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP)
    page = context.new_page()
    problems = BrowserProblems(page)

    # The password alone leads to setting up the app, not to the back office.
    sign_in_with_password(page, live_server, "li_na")
    expect(page).to_have_url(f"{live_server.url}/accounts/second-factor/enrol/?next=%2Fadmin%2F")
    expect(page.locator("svg.lp-qr")).to_be_visible()
    expect(page.locator(".lp-otp-secret")).to_be_visible()
    assert_accessible(page, "second-factor-enrol-1280-zh")
    screenshot(page, "second-factor-enrol-1280-zh")

    page.locator("#id_code").fill(app_code(reviewer))
    page.locator("main form [type=submit]").click()
    codes = page.locator(".lp-recovery-codes code")
    expect(codes).to_have_count(10)
    assert_accessible(page, "second-factor-codes-1280-zh")
    screenshot(page, "second-factor-codes-1280-zh")
    recovery = codes.first.inner_text()
    page.locator("main a.btn").click()

    # The back office opens, and its queue.
    expect(page.locator("#user-tools")).to_contain_text("li_na")
    page.goto(f"{live_server.url}/admin/applications/loanapplication/")
    expect(page.locator("#changelist")).to_be_visible()
    page.locator("#logout-form [type=submit]").click()

    # The next sign-in asks for the app's code (the next one: the first may not be used twice).
    sign_in_with_password(page, live_server, "li_na")
    expect(page).to_have_url(f"{live_server.url}/accounts/second-factor/?next=/admin/")
    page.locator("#id_code").fill("000000")
    page.locator("main form [type=submit]").click()
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "second-factor-verify-1280-zh")
    screenshot(page, "second-factor-verify-1280-zh")
    TOTPDevice.objects.filter(user=reviewer).update(throttling_failure_count=0)  # the wrong code's pause
    page.locator("#id_code").fill(app_code(reviewer, steps_ahead=1))
    page.locator("main form [type=submit]").click()
    expect(page.locator("#user-tools")).to_contain_text("li_na")
    assert recovery and page.url == f"{live_server.url}/admin/"
    assert problems.unexpected() == [], "the browser reported problems"
    context.close()


def test_a_customer_signs_out_everywhere_from_the_account_menu(
    browser: Browser, live_server, settings, django_user_model
):
    settings.SESSION_IDLE_SECONDS_CUSTOMER = 2 * 3600  # as deployed (the test settings have none)
    customer = django_user_model.objects.create_user(username="zhang_wei", password=PASSWORD)
    customer.groups.set(Group.objects.filter(name=Role.CUSTOMER))
    context = signed_in_context(browser, live_server, customer)
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 812})
    problems = BrowserProblems(page)
    page.goto(f"{live_server.url}/accounts/security/")
    assert_accessible(page, "signing-in-375-zh")
    screenshot(page, "signing-in-375-zh")
    page.locator("main form [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".alert")).to_be_visible()
    page.goto(f"{live_server.url}/applications/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/applications/")
    assert problems.unexpected() == [], "the browser reported problems"
    context.close()
