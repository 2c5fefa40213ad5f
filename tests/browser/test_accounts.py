"""Customer accounts in a real browser: sign up with a phone number, sign out, sign in again.

Screenshots in ``test-results/``: signup-375-zh.png, signup-375-zh-error.png, signin-375-zh.png,
signup-1280-en.png, locked-out-375-zh.png. Our own strings stay English on the Chinese pages until
locale-notes/accounts.tsv is merged into the catalogue; Django's own (password rules) are Chinese.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import (
    MD_BREAKPOINT,
    SCREENSHOTS,
    assert_accessible,
    expect_navbar_on_one_row,
    expect_no_sideways_scrolling,
    expect_styled,
    open_account_menu,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Sign-up and code limits live in the shared cache, which the live server shares with us."""
    from django.core.cache import cache

    cache.clear()


def open_menu(page: Page) -> None:
    """On a phone the navbar's links fold behind the menu button."""
    if page.viewport_size["width"] < MD_BREAKPOINT:
        page.locator(".lp-navbar .navbar-toggler").click()
        # Bootstrap marks the menu "show" once it has finished unfolding ("collapsing" meanwhile):
        # a click on a link during the transition may land on nothing.
        expect(page.locator("#lp-navbar-menu")).to_have_class(re.compile(r"\bshow\b"))


def last_code() -> str:
    """The code in the newest text message (the tests' SMS backend; the live server shares it)."""
    from common import sms

    return [sent.message.params["code"] for sent in sms.outbox if sent.message.template == "code"][-1]


def test_a_customer_signs_up_by_code_forgets_the_password_resets_it_by_code_and_signs_in(
    page: Page, live_server, browser_problems
):
    from django.contrib.auth import get_user_model

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/")
    open_menu(page)
    page.locator(".lp-navbar a[href='/accounts/signup/']").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_styled(page)
    expect_navbar_on_one_row(page)
    expect_no_sideways_scrolling(page)
    expect(page.locator("#id_identifier")).to_be_focused()
    screenshot(page, "signup-375-zh")
    assert_accessible(page, "signup-375-zh")

    # One digit short: the page says why, next to the field, and keeps what was typed.
    page.locator("#id_identifier").fill("138 1234 567")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("form[action='/accounts/signup/'] button[type=submit]").click()

    identifier = page.locator("#id_identifier")
    expect(identifier).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(identifier).to_have_value("138 1234 567")
    expect(page.locator("#error_1_id_identifier")).to_contain_text("11")
    expect_no_sideways_scrolling(page)
    screenshot(page, "signup-375-zh-error")
    assert_accessible(page, "signup-375-zh-error")
    assert not get_user_model().objects.exists()

    identifier.fill("138 1234 5678")
    page.locator("#id_password1").fill(PASSWORD)  # a browser never gets a password back
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("form[action='/accounts/signup/'] button[type=submit]").click()

    # The number is confirmed with the code texted to it before the account opens.
    expect(page).to_have_url(f"{live_server.url}/accounts/signup/verify/")
    expect(page.get_by_test_id("code-intro")).to_contain_text("138****5678")
    expect(page.locator("#id_code")).to_have_attribute("autocomplete", "one-time-code")
    screenshot(page, "signup-code-375-zh")
    assert_accessible(page, "signup-code-375-zh")
    assert not get_user_model().objects.exists()
    page.locator("#id_code").fill(last_code())
    page.locator("main form button[type=submit]").first.click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".alert-success")).to_be_visible()
    open_menu(page)
    expect(page.locator(".lp-navbar")).to_contain_text("138****5678")
    assert get_user_model().objects.get().phone == "13812345678"

    page.locator(".lp-navbar .lp-account-toggle").click()
    page.locator(".lp-navbar form[action='/accounts/logout/'] button").click()
    expect(page).to_have_url(f"{live_server.url}/")

    # Forgotten: the sign-in page → "forgotten your password?" → by text message.
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("#id_username")).to_be_visible()
    screenshot(page, "signin-375-zh")
    assert_accessible(page, "signin-375-zh")
    page.locator("main a[href='/accounts/password-reset/']").click()
    assert_accessible(page, "password-reset-375-zh")
    page.locator("main a[href='/accounts/password-reset/code/']").click()
    expect(page.locator("#id_phone")).to_be_focused()
    screenshot(page, "reset-code-phone-375-zh")
    assert_accessible(page, "reset-code-phone-375-zh")
    page.locator("#id_phone").fill("138 1234 5678")
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/password-reset/code/verify/")
    assert_accessible(page, "reset-code-375-zh")
    page.locator("#id_code").fill(last_code())
    page.locator("#id_password1").fill("Winter-Orchard-2027")
    page.locator("#id_password2").fill("Winter-Orchard-2027")
    screenshot(page, "reset-code-375-zh")
    page.locator("main form button[type=submit]").first.click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".alert-success")).to_be_visible()
    assert_accessible(page, "signin-after-reset-375-zh")
    page.locator("#id_username").fill("13812345678")
    page.locator("#id_password").fill("Winter-Orchard-2027")
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/")
    open_account_menu(page)
    expect(page.locator(".lp-navbar")).to_contain_text("138****5678")

    # The account page: change the password; add an email address with a code to the number.
    page.locator(".lp-navbar a[href='/accounts/account/password/']").click()
    expect(page.locator("#id_old_password")).to_be_visible()
    expect_no_sideways_scrolling(page)
    screenshot(page, "account-375-zh")
    assert_accessible(page, "account-375-zh")
    page.locator("main a[href='/accounts/account/email/']").click()
    page.locator("#id_email").fill("wang.fang@example.cn")
    assert_accessible(page, "account-email-375-zh")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/account/email/verify/")
    assert_accessible(page, "account-email-code-375-zh")
    page.locator("#id_code").fill(last_code())
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{live_server.url}/accounts/account/password/")
    expect(page.locator(".alert-success")).to_contain_text("wang.fang@example.cn")
    assert get_user_model().objects.get().email == "wang.fang@example.cn"


def test_the_sign_up_page_in_english_on_a_desktop(page: Page, live_server, browser_problems):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_label("Mobile number or email")).to_be_visible()
    expect(page.locator(".lp-navbar a[href='/accounts/login/']")).to_be_visible()  # no menu button here
    expect_navbar_on_one_row(page)
    screenshot(page, "signup-1280-en")
    assert_accessible(page, "signup-1280-en")

    page.get_by_label("Mobile number or email").fill("li.na@example.cn")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(f"{live_server.url}/")
    navbar = page.locator(".lp-navbar")
    expect(navbar).to_contain_text("li.na@example.cn")
    expect_navbar_on_one_row(page)
    open_account_menu(page)
    expect(navbar.get_by_role("button", name="Sign out")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 300})
    page.screenshot(path=SCREENSHOTS / "navbar-signed-in-1280-en.png")


def test_the_locked_out_page_on_a_phone(page: Page, live_server, browser_problems, settings):
    from accounts.services import user_sign_up

    settings.AXES_ENABLED = True
    user_sign_up(phone_or_email="13812345678", password=PASSWORD)
    browser_problems.tolerate("/accounts/login/")  # the pause answers 429 Too Many Requests, on purpose
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(5):
        page.locator("#id_username").fill("13812345678")
        page.locator("#id_password").fill("wrong-Password-1")
        page.locator("form[action='/accounts/login/'] button[type=submit]").click()
        page.wait_for_load_state()

    expect(page.locator("h1")).to_contain_text("登录已暂停")  # a zh-CN browser gets Chinese
    expect(page.locator("main")).to_contain_text("15")
    expect(page.locator("main a[href='/accounts/password-reset/']")).to_be_visible()
    expect_no_sideways_scrolling(page)
    screenshot(page, "locked-out-375-zh")
    assert_accessible(page, "locked-out-375-zh")


def test_a_customer_resets_the_password_by_email_on_a_phone(
    page: Page, live_server, browser_problems, mailoutbox
):
    from accounts.services import user_sign_up

    user_sign_up(phone_or_email="wang.fang@example.cn", password=PASSWORD)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/accounts/password-reset/")
    expect(page.locator("#id_email")).to_be_visible()
    screenshot(page, "password-reset-375-zh")
    assert_accessible(page, "password-reset-375-zh")

    page.locator("#id_email").fill("wang.fang@example.cn")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password-reset/sent/")
    assert_accessible(page, "password-reset-sent-375-zh")

    (message,) = mailoutbox
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body)
    assert link, message.body
    page.goto(f"{live_server.url}{link.group(1)}")
    expect(page.locator("#id_new_password1")).to_be_visible()
    screenshot(page, "password-reset-new-375-zh")
    assert_accessible(page, "password-reset-new-375-zh")
    page.locator("#id_new_password1").fill("Winter-Orchard-2027")
    page.locator("#id_new_password2").fill("Winter-Orchard-2027")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/reset/done/")
    assert_accessible(page, "password-reset-done-375-zh")
