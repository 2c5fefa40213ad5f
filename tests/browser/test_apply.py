"""Applying in a real browser: a customer signs in, goes through the four steps on a phone, corrects
an ID number with a wrong check digit, submits, uploads the documents and lands on the timeline.

Screenshots in ``test-results/``: apply-<step>-375-zh.png for each step, apply-loan-1280-en.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from applications import services
from applications.choices import Powertrain, Stage
from applications.models import LoanApplication, LoanProduct
from applications.tests.factories import DealerFactory, valid_id_number
from tests.browser.pages import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"
PASSWORD = "a-Long-passphrase-42"  # conftest's make_user
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, live_server, user, next_path: str) -> None:
    page.goto(f"{live_server.url}{next_path}")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server.url}{reverse('accounts:login')}?next=")))
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}{next_path}")


def continue_button(page: Page):
    """The form's main button ("Save and continue"), whatever the language."""
    return page.locator("main form button.btn-primary[type=submit]")


def test_a_customer_applies_on_a_phone_fixes_the_id_number_submits_and_uploads_the_documents(
    page: Page, live_server, make_user, browser_problems
):
    customer = make_user("browser_customer", "customer")
    dealer = DealerFactory(code="bj-1", name="北京望京汽车城", region="北京")
    green_product = LoanProduct.objects.get(code="green_nev")
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, live_server, customer, "/applications/new/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".lp-stepper li")).to_have_count(4)
    expect(page.locator(".lp-stepper li[aria-current=step]")).to_contain_text("1")

    # Step 1, with an ID number whose last character is wrong.
    good_id = valid_id_number()
    bad_id = good_id[:17] + ("1" if good_id[17] != "1" else "2")
    page.fill("#id_full_name", "张伟")
    page.fill("#id_id_number", bad_id)
    page.fill("#id_phone", "138 1234 5678")
    page.select_option("#id_employment", "employed")
    page.fill("#id_employer", "北京某科技有限公司")
    page.fill("#id_monthly_income", "25000")
    page.fill("#id_monthly_debt", "2000")
    screenshot(page, "apply-1-personal-375-zh")
    assert_accessible(page, "apply-1-personal-375-zh")
    continue_button(page).click()

    error = page.locator("#error_1_id_id_number")
    expect(error).to_be_visible()
    expect(page.locator("#id_id_number")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert LoanApplication.objects.count() == 0  # nothing saved from an invalid step
    screenshot(page, "apply-1-personal-error-375-zh")
    assert_accessible(page, "apply-1-personal-error-375-zh")
    page.fill("#id_id_number", good_id)
    continue_button(page).click()

    application = LoanApplication.objects.get(customer=customer)
    vehicle_path = reverse("applications:apply_step", args=[application.reference, "vehicle"])
    expect(page).to_have_url(f"{live_server.url}{vehicle_path}")

    # Step 2: a battery-electric car from the dealer in the list.
    page.select_option("#id_dealer", str(dealer.pk))
    page.fill("#id_vehicle_make", "比亚迪")
    page.fill("#id_vehicle_model", "汉 EV")
    page.fill("#id_vehicle_price", "200000")
    page.check(f"input[name=powertrain][value={Powertrain.BATTERY_ELECTRIC}]")
    screenshot(page, "apply-2-vehicle-375-zh")
    assert_accessible(page, "apply-2-vehicle-375-zh")
    continue_button(page).click()

    # Step 3: the green product is offered for a new-energy car, with its minimum down payment.
    expect(page).to_have_url(
        f"{live_server.url}{reverse('applications:apply_step', args=[application.reference, 'loan'])}"
    )
    green = page.locator(".form-check", has=page.locator(f"input[value='{green_product.pk}']"))
    expect(green).to_contain_text(green_product.name_zh_hans)
    expect(green).to_contain_text("¥30,000.00")  # the minimum down payment for this car: 15 %
    expect(green).to_contain_text("15%")
    green.locator("input").check()
    page.fill("#id_down_payment", "40000")
    page.fill("#id_requested_amount", "160000")
    page.select_option("#id_term_months", "36")
    screenshot(page, "apply-3-loan-375-zh")
    assert_accessible(page, "apply-3-loan-375-zh")
    continue_button(page).click()

    # Step 4: both consents.
    expect(page).to_have_url(
        f"{live_server.url}{reverse('applications:apply_step', args=[application.reference, 'consent'])}"
    )
    page.check("#id_credit_check")
    page.check("#id_privacy_notice")
    screenshot(page, "apply-4-consent-375-zh")
    assert_accessible(page, "apply-4-consent-375-zh")
    continue_button(page).click()

    # Review: masked personal data, then submit.
    expect(page).to_have_url(
        f"{live_server.url}{reverse('applications:apply_review', args=[application.reference])}"
    )
    expect(page.get_by_text("110101********", exact=False)).to_be_visible()
    screenshot(page, "apply-5-review-375-zh")
    assert_accessible(page, "apply-5-review-375-zh")
    page.locator("main form button.btn-lg[type=submit]").click()

    timeline = (
        f"{live_server.url}{reverse('applications:detail', kwargs={'reference': application.reference})}"
    )
    expect(page).to_have_url(timeline)
    application.refresh_from_db()
    assert application.stage == Stage.AWAITING_DOCUMENTS  # the pre-check ran and asks for documents

    # Documents: each upload leads to the next one owed; the last one back to the timeline.
    missing = application.missing_document_types()
    page.goto(
        f"{live_server.url}{reverse('applications:document_upload', args=[application.reference, missing[0].code])}"
    )
    for number, doc_type in enumerate(missing):
        expect(page.locator("h1")).to_have_text(doc_type.name_zh_hans)
        payload = (
            {"name": f"{doc_type.code}.png", "mimeType": "image/png", "buffer": PNG}
            if number % 2 == 0
            else {"name": f"{doc_type.code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        page.set_input_files("input[type=file]", files=[payload])
        if number == 0:
            screenshot(page, "apply-6-document-375-zh")
            assert_accessible(page, "apply-6-document-375-zh")
        page.locator("main form button[type=submit]").click()
        if number < len(missing) - 1:
            expect(page).to_have_url(
                f"{live_server.url}"
                f"{reverse('applications:document_upload', args=[application.reference, missing[number + 1].code])}"
            )

    expect(page).to_have_url(timeline)
    screenshot(page, "apply-7-timeline-375-zh")
    assert_accessible(page, "apply-7-timeline-375-zh")
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW
    assert application.documents.count() == len(missing)
    assert (application.product, application.requested_amount) == (green_product, 160000)


def test_the_loan_step_on_a_desktop_in_english_shows_the_rules_next_to_the_fields(
    page: Page, live_server, make_user, browser_problems
):
    customer = make_user("desktop_customer", "customer")
    dealer = DealerFactory(code="sh-1", name="上海浦东汽车城", region="上海")
    application = services.application_create_draft(created_by=customer, customer=customer)
    services.applicant_set(
        application=application,
        full_name="Li Na",
        id_number=valid_id_number(birth="19850612"),
        phone="13912345678",
        employment="self_employed",
        monthly_income=30000,
        monthly_debt=0,
    )
    services.draft_set_vehicle(
        application=application,
        dealer=dealer,
        vehicle_make="Volkswagen",
        vehicle_model="Passat",
        vehicle_price=250000,
        powertrain=Powertrain.FUEL,
    )
    loan_path = reverse("applications:apply_step", args=[application.reference, "loan"])
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, customer, loan_path)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert urlsplit(page.url).path == loan_path

    expect(page.get_by_text("Green new-energy loan")).to_have_count(0)  # not for a fuel car
    page.locator("input[name=product]").first.check()
    page.fill("#id_down_payment", "40000")  # 16 %: below the 20 % minimum
    page.fill("#id_requested_amount", "220000")  # more than price − down payment
    page.select_option("#id_term_months", "60")
    continue_button(page).click()

    expect(page.locator("#error_1_id_down_payment")).to_contain_text(
        "The down payment must be at least ¥50,000.00 (20% of the vehicle price)."
    )
    expect(page.locator("#error_1_id_requested_amount")).to_contain_text(
        "You can borrow at most the price minus the down payment: ¥210,000.00."
    )
    screenshot(page, "apply-loan-1280-en")
    assert_accessible(page, "apply-loan-1280-en")
    application.refresh_from_db()
    assert application.product_id is None
