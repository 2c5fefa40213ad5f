"""Notification settings in a real browser: from the inbox to the switches and back with a confirmation.

Screenshots land in ``test-results/`` (preferences-375-zh.png, preferences-1280-en.png).
"""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from notifications.models import ChannelPreference

from .pages import (
    assert_accessible,
    expect_navbar_on_one_row,
    expect_no_sideways_scrolling,
    expect_styled,
    open_account_menu,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def words(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def with_phone(customer):
    customer.set_phone("13812345678")
    customer.save()
    return customer


def test_a_customer_turns_email_off_from_the_inbox_on_a_phone(
    page: Page, live_server, browser_problems, with_phone
):
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, live_server, with_phone)
    page.goto(f"{live_server.url}/inbox/")

    page.locator("main").get_by_role("link", name=words("zh-hans", "Notification settings")).click()

    expect(page).to_have_url(f"{live_server.url}/inbox/preferences/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    email = page.get_by_label(words("zh-hans", "Notify me by email"))
    sms = page.get_by_label(words("zh-hans", "Notify me by text message"))
    expect(email).to_be_checked()
    expect(sms).to_be_checked()
    expect_styled(page)

    email.uncheck()
    page.get_by_role("button", name=words("zh-hans", "Save")).click()

    expect(page.get_by_role("alert")).to_contain_text(
        words("zh-hans", "Your notification settings are saved.")
    )
    expect(email).not_to_be_checked()
    expect(sms).to_be_checked()
    expect(page.locator("main").get_by_text("138****5678")).to_be_visible()
    expect_no_sideways_scrolling(page)
    expect_navbar_on_one_row(page)
    screenshot(page, "preferences-375-zh")
    assert_accessible(page, "preferences-375-zh")
    preference = ChannelPreference.objects.get(user=with_phone)
    assert (preference.email, preference.sms) == (False, True)

    # The account menu, folded behind the menu button on a phone, leads here too.
    open_account_menu(page)
    expect(
        page.locator(".lp-navbar").get_by_role("link", name=words("zh-hans", "Notification settings"))
    ).to_be_visible()
    screenshot(page, "preferences-menu-375-zh")
    assert_accessible(page, "preferences-menu-375-zh")


def test_the_settings_in_english_on_a_desktop_keep_the_menu_on_one_row(
    page: Page, live_server, browser_problems, customer
):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server, customer)
    page.goto(f"{live_server.url}/inbox/preferences/")
    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    # No mobile number on file: the text-message switch is off, disabled and says why.
    expect(page.get_by_label("Notify me by text message")).to_be_disabled()
    expect(page.get_by_text("Your account has no mobile number")).to_be_visible()
    expect_navbar_on_one_row(page)
    open_account_menu(page)
    expect(page.locator(".lp-navbar").get_by_role("link", name="Notification settings")).to_be_visible()
    expect_no_sideways_scrolling(page)
    screenshot(page, "preferences-1280-en")
    assert_accessible(page, "preferences-1280-en")
