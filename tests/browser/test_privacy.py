"""Privacy rights in a real browser (PIPL): from the account menu to the privacy page, view the
data and download it as a file, ask for a correction and see it being handled, withdraw marketing
consent, and be told why the account cannot be closed while a file is open.

Screenshots land in ``test-results/`` (privacy-1280-zh.png, privacy-data-1280-zh.png,
privacy-close-refused-375-zh.png).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from accounts.services import user_marketing_consent_set
from applications.models import CorrectionRequest

from .builders import in_review
from .pages import (
    assert_accessible,
    expect_no_sideways_scrolling,
    open_account_menu,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def words(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def test_a_customer_uses_their_privacy_rights(page: Page, live_server, browser_problems, customer, dealer):
    application = in_review(customer=customer, dealer=dealer)
    user_marketing_consent_set(user=customer, granted=True, now=timezone.now())
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, customer)
    page.goto(f"{live_server.url}/applications/")

    open_account_menu(page)
    page.get_by_role("link", name=words("Privacy and your data")).click()
    expect(page).to_have_url(f"{live_server.url}/privacy/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words("Privacy and your data"))
    assert_accessible(page, "privacy-1280-zh")

    # Download my data: the readable page, then the file.
    page.get_by_test_id("privacy-view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words("My data"))
    expect(page.locator("main")).to_contain_text("张伟")
    expect(page.locator("main")).to_contain_text(application.display_reference)
    expect(page.locator("main")).to_contain_text(words("Application submitted"))
    screenshot(page, "privacy-data-1280-zh")
    assert_accessible(page, "privacy-data-1280-zh")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=words("Download as a file (JSON)")).click()
    download = download_info.value
    assert download.suggested_filename.startswith("loan-portal-my-data-")
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert [app["reference"] for app in data["applications"]] == [application.display_reference]
    page.get_by_role("link", name=words("Back to privacy and your data")).click()

    # Ask for a correction: it becomes a staff task, and its status shows here.
    form = page.get_by_test_id("correction-form")
    form.get_by_label(words("What is wrong?")).select_option("employment")
    form.get_by_label(words("Which application (if it is about one)")).select_option(application.reference)
    form.get_by_label(words("What should it say?")).fill("新单位：某银行")
    form.get_by_role("button", name=words("Send the request")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_test_id("correction-status")).to_have_text(words("Being handled"))
    correction = CorrectionRequest.objects.get()
    assert correction.application_id == application.pk and correction.due_at > correction.created_at

    # Withdraw marketing consent.
    page.get_by_role("button", name=words("Withdraw my consent")).click()
    expect(page.get_by_role("button", name=words("I agree to receive offers and news"))).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        words("Your consent is withdrawn: we will send you no offers or news.")
    )
    customer.refresh_from_db()
    assert customer.marketing_consent_at is None
    screenshot(page, "privacy-1280-zh")
    assert_accessible(page, "privacy-after-1280-zh")

    # Close the account: refused, with the reason, while the application is open (on a phone).
    page.set_viewport_size({"width": 375, "height": 812})
    page.get_by_test_id("close-account").click()
    expect(page.get_by_test_id("close-refused")).to_contain_text(words("Your account cannot be closed yet."))
    expect(page.get_by_test_id("open-files")).to_contain_text(application.display_reference)
    expect(page.get_by_role("button", name=words("Yes, close my account"))).to_have_count(0)
    expect_no_sideways_scrolling(page)
    screenshot(page, "privacy-close-refused-375-zh")
    assert_accessible(page, "privacy-close-refused-375-zh")
    customer.refresh_from_db()
    assert customer.is_active
