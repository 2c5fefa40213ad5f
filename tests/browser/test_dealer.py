"""The dealer journey in a real browser: a dealer starts a file for a walk-in buyer, the buyer
claims it with the texted link and code, signs up with that number, completes it, consents and
submits; the dealer uploads the invoice; staff move it to an offer, which the buyer accepts (the
dealer sees it read-only); once paid out the dealer sees the funding status. axe on every page.

Screenshots in ``test-results/``: dealer-*.png.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from applications.choices import Stage
from applications.models import Document, LoanApplication, LoanProduct
from applications.tests.factories import valid_id_number
from common import sms

from .builders import documents_then_offer, paid_out
from .pages import DESKTOP, BrowserProblems, assert_accessible, screenshot, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Walk-In-Buyer-2026"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the live server shares this process's cache (and the code limits in it)
    yield
    cache.clear()


def last_code() -> str:
    return [sent.message.params["code"] for sent in sms.outbox if sent.message.template == "code"][-1]


def claim_path() -> str:
    links = [re.search(r"/claim/[A-Za-z0-9_-]+/", sent.message.text) for sent in sms.outbox]
    return [link.group(0) for link in links if link][-1]


def checked(page: Page, name: str, problems: BrowserProblems) -> None:
    screenshot(page, name)
    assert_accessible(page, name)
    assert problems.unexpected() == [], f"the browser reported problems on {name}"


def test_a_walk_in_buyer_claims_the_dealers_file_consents_accepts_and_the_dealer_sees_the_payout(
    browser: Browser, live_server, dealer_user, dealer, reviewer, approver, operations, finance
):
    # --- The dealer starts the file at the showroom ---------------------------------------------
    dealer_context = signed_in_context(browser, live_server, dealer_user)
    desk = dealer_context.new_page()
    desk_problems = BrowserProblems(desk)
    desk.goto(f"{live_server.url}/")
    desk.locator(".lp-navbar").get_by_role("link", name="经销商工作台").click()
    expect(desk.get_by_test_id("dealer-empty")).to_be_visible()
    checked(desk, "dealer-1-workspace-empty", desk_problems)

    desk.get_by_role("link", name="为到店客户发起申请").click()
    desk.fill("#id_buyer_name", "李娜")
    desk.fill("#id_buyer_phone", "139 1234 5678")
    desk.fill("#id_vehicle_make", "大众")
    desk.fill("#id_vehicle_model", "帕萨特")
    desk.fill("#id_vehicle_price", "200000")
    desk.check("input[name=powertrain][value=fuel]")
    desk.select_option("#id_product", str(LoanProduct.objects.get(code="standard").pk))
    desk.fill("#id_down_payment", "60000")
    desk.fill("#id_requested_amount", "140000")
    desk.fill("#id_term_months", "36")
    checked(desk, "dealer-2-walk-in", desk_problems)
    desk.locator("main form button[type=submit]").click()

    application = LoanApplication.objects.get()
    detail_url = f"{live_server.url}{reverse('applications:dealer_detail', args=[application.reference])}"
    expect(desk).to_have_url(detail_url)
    expect(desk.get_by_test_id("claim-status")).to_contain_text("139****5678")
    expect(desk.get_by_test_id("masked")).to_contain_text("李*")
    checked(desk, "dealer-3-file-waiting", desk_problems)
    assert [sent.phone for sent in sms.outbox] == ["13912345678"]  # the link, texted to the buyer

    # --- The buyer opens the link on their phone, proves the number, signs up with it ------------
    phone_context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 375, "height": 812}
    )
    buyer = phone_context.new_page()
    buyer_problems = BrowserProblems(buyer)
    buyer.goto(f"{live_server.url}{claim_path()}")
    expect(buyer.locator("main")).to_contain_text(dealer.name)
    expect(buyer.locator("main")).not_to_contain_text("帕萨特")  # nothing of the file before the code
    checked(buyer, "dealer-4-claim-375", buyer_problems)
    buyer.get_by_role("button", name="发送验证码").click()
    buyer.locator("#id_code").fill(last_code())
    checked(buyer, "dealer-5-claim-code-375", buyer_problems)
    buyer.get_by_role("button", name="继续").click()
    checked(buyer, "dealer-6-claim-sign-in-375", buyer_problems)
    buyer.get_by_role("link", name="注册账户").click()
    buyer.locator("#id_identifier").fill("139 1234 5678")
    buyer.locator("#id_password1").fill(PASSWORD)
    buyer.locator("#id_password2").fill(PASSWORD)
    buyer.locator("main form button[type=submit]").click()
    buyer.locator("#id_code").fill(last_code())
    buyer.locator("main form button[type=submit]").first.click()

    # Back on the link, signed in with that number: what the dealer entered, to take over.
    expect(buyer.locator("main")).to_contain_text("帕萨特")
    checked(buyer, "dealer-7-claim-confirm-375", buyer_problems)
    buyer.get_by_role("button", name="继续此申请").click()
    personal = reverse("applications:apply_step", args=[application.reference, "personal"])
    expect(buyer).to_have_url(f"{live_server.url}{personal}")
    expect(buyer.locator("#id_full_name")).to_have_value("李娜")
    application.refresh_from_db()
    assert application.customer is not None and application.customer.phone == "13912345678"

    # The buyer's own details, the car and loan as entered, their own consent, and submission.
    buyer.fill("#id_id_number", valid_id_number())
    buyer.select_option("#id_employment", "employed")
    buyer.fill("#id_monthly_income", "25000")
    buyer.fill("#id_monthly_debt", "2000")
    buyer.locator("main form button.btn-primary[type=submit]").click()
    expect(buyer.locator("#id_vehicle_model")).to_have_value("帕萨特")
    buyer.locator("main form button.btn-primary[type=submit]").click()
    expect(buyer.locator("#id_requested_amount")).to_have_value("140000.00")
    buyer.locator("main form button.btn-primary[type=submit]").click()
    buyer.check("#id_credit_check")
    buyer.check("#id_privacy_notice")
    buyer.locator("main form button.btn-primary[type=submit]").click()
    checked(buyer, "dealer-8-buyer-review-375", buyer_problems)
    buyer.locator("main form button.btn-lg[type=submit]").click()
    expect(buyer).to_have_url(
        f"{live_server.url}{reverse('applications:detail', args=[application.reference])}"
    )
    application.refresh_from_db()
    assert application.stage == Stage.AWAITING_DOCUMENTS  # the pre-check asks for the buyer's documents
    consents = application.consents.all()
    assert {consent.granted_by for consent in consents} == {application.customer}

    # --- The dealer uploads the invoice -----------------------------------------------------------
    desk.goto(detail_url)
    desk.set_input_files(
        "#lp-upload-vehicle_invoice",
        files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    desk.locator("form", has=desk.locator("#lp-upload-vehicle_invoice")).locator(
        "button[type=submit]"
    ).click()
    expect(desk.get_by_test_id("dealer-documents")).to_contain_text("购车发票")
    checked(desk, "dealer-9-file-invoice", desk_problems)
    assert Document.objects.get(document_type__code="vehicle_invoice").uploaded_by == dealer_user

    # --- Staff move the file to an offer; the dealer sees it, only the buyer answers --------------
    application = documents_then_offer(
        application, customer=application.customer, reviewer=reviewer, approver=approver
    )
    desk.goto(detail_url)
    expect(desk.get_by_test_id("dealer-offer")).to_contain_text("¥140,000.00")
    expect(desk.get_by_role("button", name="接受方案")).to_have_count(0)
    checked(desk, "dealer-10-file-offer", desk_problems)

    buyer.goto(f"{live_server.url}{reverse('applications:offer', args=[application.reference])}")
    buyer.get_by_role("button", name="接受方案").click()
    buyer.get_by_role("button", name="确定接受").click()
    application.refresh_from_db()
    assert application.stage == Stage.CONTRACT_SIGNING

    # --- Paid out: the dealer sees the funding status ---------------------------------------------
    paid_out(application, operations=operations, finance=finance)
    desk.goto(f"{live_server.url}{reverse('applications:dealer_workspace')}")
    row = desk.locator(f"tr[data-reference='{application.reference}']")
    expect(row).to_contain_text("已放款")
    expect(row).to_contain_text("¥140,000.00")
    checked(desk, "dealer-11-workspace-paid-out", desk_problems)
    desk.goto(detail_url)
    expect(desk.get_by_test_id("funding-status")).to_contain_text("¥140,000.00")
    checked(desk, "dealer-12-file-paid-out", desk_problems)
    desk.set_viewport_size(DESKTOP)
    dealer_context.close()
    phone_context.close()
