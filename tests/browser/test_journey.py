"""The customer's whole journey in one real browser session, as issue 3's acceptance reads it:
sign up → apply (one invalid field corrected) → upload documents → the timeline shows milestone 2
with an expected time → (staff decide, in the test's own set-up) → the offer is accepted → the
timeline shows milestone 4. Screenshots of the timeline at 375 px and 1280 px go to test-results/;
on failure pytest-playwright keeps its own under var/playwright/."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts.models import User
from applications import services
from applications.choices import Powertrain, Stage
from applications.models import LoanApplication
from applications.tests.factories import DealerFactory, valid_id_number
from common import sms
from tests.browser.pages import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "test-results"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
PASSWORD = "Quiet-Harbour-2026"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def save(page: Page) -> None:
    page.locator("main form button.btn-primary[type=submit]").click()


def milestone(page: Page, number: int):
    return page.locator(f'[data-milestone="{number}"]')


def test_sign_up_apply_upload_follow_accept(page: Page, live_server, reviewer, approver):
    dealer = DealerFactory(code="bj-journey", name="北京望京汽车城", region="北京")
    base = live_server.url
    page.set_viewport_size({"width": 375, "height": 812})

    # Sign up with a mobile number.
    page.goto(f"{base}/accounts/signup/")
    assert_accessible(page, "journey-signup-375-zh")
    page.fill("#id_identifier", "139 0000 1234")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("main form button[type=submit]").click()
    # The number is confirmed with the code texted to it (the tests' SMS backend keeps it).
    expect(page).to_have_url(f"{base}/accounts/signup/verify/")
    (text,) = sms.outbox
    page.fill("#id_code", text.message.params["code"])
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/")
    customer = User.objects.get(phone_hash__isnull=False, groups__name="customer")

    # Apply: four steps; the loan step first with a down payment under the minimum, then corrected.
    page.goto(f"{base}/applications/new/")
    expect(page.locator("#id_phone")).to_have_value("13900001234")  # from sign-up, already filled in
    assert_accessible(page, "journey-apply-personal-375-zh")
    page.fill("#id_full_name", "王芳")
    page.fill("#id_id_number", valid_id_number(birth="19880415", serial="246"))
    page.fill("#id_phone", "13900001234")
    page.select_option("#id_employment", "employed")
    page.fill("#id_monthly_income", "30000")
    page.fill("#id_monthly_debt", "1000")
    save(page)
    application = LoanApplication.objects.get(customer=customer)
    assert_accessible(page, "journey-apply-vehicle-375-zh")
    page.select_option("#id_dealer", str(dealer.pk))
    page.fill("#id_vehicle_make", "大众")
    page.fill("#id_vehicle_model", "帕萨特")
    page.fill("#id_vehicle_price", "200000")
    page.check(f"input[name=powertrain][value={Powertrain.FUEL}]")
    save(page)
    assert_accessible(page, "journey-apply-loan-375-zh")
    page.locator(".form-check input[name=product]").first.check()
    page.fill("#id_down_payment", "20000")  # 10 %: under the 20 % minimum for a fuel car
    page.fill("#id_requested_amount", "140000")
    page.select_option("#id_term_months", "36")
    save(page)
    expect(page.locator("#id_down_payment")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert_accessible(page, "journey-apply-loan-error-375-zh")
    application.refresh_from_db()
    assert application.down_payment is None  # nothing saved from the invalid step
    page.fill("#id_down_payment", "60000")
    save(page)
    assert_accessible(page, "journey-apply-consent-375-zh")
    page.check("#id_credit_check")
    page.check("#id_privacy_notice")
    save(page)
    # The review: the estimated monthly payment for the amount, term and product chosen.
    expect(page.get_by_test_id("monthly-estimate")).to_contain_text("¥")
    assert_accessible(page, "journey-apply-review-375-zh")
    page.locator("main form button.btn-lg[type=submit]").click()  # submit from the review page

    # The pre-check ran on commit and asks for documents: upload each, one after the other.
    timeline = f"{base}/applications/{application.reference}/"
    expect(page).to_have_url(timeline)
    application.refresh_from_db()
    assert application.stage == Stage.AWAITING_DOCUMENTS
    missing = application.missing_document_types()
    page.goto(f"{base}/applications/{application.reference}/documents/{missing[0].code}/")
    for doc_type in missing:
        expect(page.locator("h1")).to_have_text(doc_type.name_zh_hans)
        assert_accessible(page, f"journey-upload-{doc_type.code}-375-zh")
        page.set_input_files(
            "input[type=file]", files=[{"name": "scan.png", "mimeType": "image/png", "buffer": PNG}]
        )
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(timeline)

    # Milestone 2, under review, with an expected completion time.
    expect(milestone(page, 2)).to_have_attribute("data-state", "current")
    expect(page.get_by_test_id("expected")).to_be_visible()
    shot(page, "journey-timeline-review-375-zh")
    assert_accessible(page, "journey-timeline-review-375-zh")

    # Staff decide (set-up, through the same services the back office uses).
    application.refresh_from_db()
    application = services.review_recommend(application=application, actor=reviewer)
    services.approval_approve(
        application=application,
        actor=approver,
        amount=Decimal("140000"),
        rate=Decimal("0.0588"),
        term_months=36,
    )

    # The offer, accepted on a desktop in English.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(timeline)
    page.get_by_role("button", name="English").click()
    expect(milestone(page, 3)).to_have_attribute("data-state", "current")
    page.get_by_role("link", name="Review the offer").click()
    expect(page.get_by_test_id("amount")).to_have_text("¥140,000.00")
    assert_accessible(page, "journey-offer-1280-en")
    page.get_by_role("button", name="Accept the offer").click()
    page.get_by_role("button", name="Yes, accept the offer").click()
    expect(page).to_have_url(timeline)
    expect(milestone(page, 3)).to_have_attribute("data-state", "done")
    expect(milestone(page, 4)).to_have_attribute("data-state", "current")
    shot(page, "journey-timeline-contract-1280-en")
    assert_accessible(page, "journey-timeline-contract-1280-en")
    application.refresh_from_db()
    assert application.stage == Stage.CONTRACT_SIGNING
    assert application.events.filter(transition="accept_offer", actor=customer).count() == 1
