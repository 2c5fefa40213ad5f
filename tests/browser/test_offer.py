"""The offer says what was agreed, in a real browser: the customer chooses equal principal
(等额本金) on the offer page, confirms, and opens the printable offer and schedule."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from applications.choices import Stage

from .builders import at_offer
from .pages import assert_accessible, expect_no_sideways_scrolling, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the live server shares this process's cache
    yield
    cache.clear()


def test_customer_accepts_with_equal_principal_and_prints_the_record(
    page: Page, live_server, browser_problems, customer, dealer, reviewer, approver
):
    application = at_offer(customer=customer, dealer=dealer, reviewer=reviewer, approver=approver)
    sign_in(page, live_server, customer)
    offer_url = f"{live_server.url}/applications/{application.reference}/offer/"

    # The offer, in Chinese on a phone: the method is asked for, equal instalments chosen until changed.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(offer_url)
    methods = page.get_by_test_id("repayment-method")
    expect(methods.get_by_role("radio", name="等额本息")).to_be_checked()
    expect(page.get_by_test_id("headline-apr")).to_contain_text("5.88%")
    expect_no_sideways_scrolling(page)
    table = page.locator('[data-schedule="equal_instalment"] .table-responsive')
    assert table.evaluate("el => el.scrollWidth <= el.clientWidth"), (
        "the dated schedule is cut off on a phone"
    )
    screenshot(page, "offer-method-375-zh")
    assert_accessible(page, "offer-method-375-zh")

    # Equal principal, then the confirmation that names it, then yes.
    methods.get_by_role("radio", name="等额本金").check()
    page.get_by_role("button", name="接受方案").click()
    expect(page.get_by_test_id("confirm-method")).to_contain_text("还款方式：等额本金。")
    expect(page.get_by_test_id("confirm-method")).to_contain_text("¥4,574.89")  # 3,888.89 + 686.00
    assert_accessible(page, "offer-confirm-375-zh")
    page.get_by_role("button", name="确定接受").click()
    expect(page).to_have_url(f"{live_server.url}/applications/{application.reference}/")
    application.refresh_from_db()
    assert (application.stage, application.repayment_method) == (Stage.CONTRACT_SIGNING, "equal_principal")

    # The answered offer shows only the schedule agreed, and leads to its printable record.
    page.goto(offer_url)
    expect(page.get_by_test_id("agreed-method")).to_contain_text("等额本金")
    expect(page.locator("[data-schedule]")).to_have_count(1)
    page.get_by_test_id("print-link").click()
    expect(page).to_have_url(f"{offer_url}print/")
    expect(page.get_by_test_id("reference")).to_have_text(application.display_reference)
    expect(page.get_by_test_id("agreed-method")).to_have_text("等额本金")
    expect(page.get_by_test_id("history-head")).to_have_text(application.history_head)
    expect(page.locator('[data-schedule="equal_principal"] tbody tr')).to_have_count(36)
    expect(page.locator('[data-schedule="equal_instalment"]')).to_have_count(0)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "offer-print-1280-zh")
    assert_accessible(page, "offer-print-1280-zh")

    # On paper: no navigation, no buttons, the whole schedule and the fingerprint.
    page.emulate_media(media="print")
    expect(page.locator(".lp-navbar")).to_be_hidden()
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    expect(page.get_by_test_id("history-head")).to_be_visible()
    expect(page.locator('[data-schedule="equal_principal"] tbody tr').last).to_be_visible()
    page.emulate_media(media="screen")
    # The Print button opens the browser's print dialog (window.print, from the static script).
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="打印").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
