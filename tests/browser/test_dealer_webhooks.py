"""A dealer manages their dealership's webhooks in a real browser: from the workspace to the
webhooks page, adds an endpoint (the secret shown once), rotates its secret, sends a failed delivery
again and switches the endpoint off. axe on every page.

Screenshots in ``test-results/``: dealer-webhooks-*.png.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, Page, expect

from applications import services as core
from applications.models import DocumentType, Reason
from notifications.webhooks.choices import WebhookStatus
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint

from .builders import in_review
from .pages import BrowserProblems, assert_accessible, screenshot, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Nothing listens there: every post (sent on commit, eagerly) is refused at once, with no network.
RECEIVER = "http://127.0.0.1:9/hooks"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def checked(page: Page, name: str, problems: BrowserProblems) -> None:
    screenshot(page, name)
    assert_accessible(page, name)
    assert problems.unexpected() == [], f"the browser reported problems on {name}"


def test_a_dealer_adds_an_endpoint_rotates_its_secret_and_sends_a_failed_delivery_again(
    browser: Browser, live_server, dealer_user, dealer, customer, reviewer
):
    context = signed_in_context(browser, live_server, dealer_user)
    page = context.new_page()
    problems = BrowserProblems(page)
    page.goto(f"{live_server.url}/dealer/")
    page.locator("main").get_by_role("link", name="Webhook", exact=True).click()
    expect(page.get_by_test_id("webhooks-empty")).to_be_visible()
    checked(page, "dealer-webhooks-1-empty", problems)

    # --- Add an endpoint: a refused address first, then a good one ------------------------------
    page.get_by_role("link", name="添加端点").click()
    page.fill("#id_url", "https://10.0.0.8/hooks")
    page.get_by_label("阶段变更").check()
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_url")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_url_error")).to_contain_text("不能向私有或保留网络地址发送 Webhook")
    checked(page, "dealer-webhooks-2-refused", problems)
    page.fill("#id_url", RECEIVER)
    page.fill("#id_name", "DMS")
    page.locator("main form button[type=submit]").click()
    endpoint = WebhookEndpoint.objects.get()
    expect(page.get_by_test_id("webhook-secret")).to_have_value(endpoint.secret)
    checked(page, "dealer-webhooks-3-secret", problems)
    page.get_by_role("link", name="完成").click()
    expect(page.get_by_test_id("webhook-endpoint")).to_contain_text(RECEIVER)
    assert endpoint.secret not in page.content()

    # --- Rotate its secret, with the overlap -----------------------------------------------------
    page.get_by_role("link", name="轮换密钥").click()
    checked(page, "dealer-webhooks-4-rotate", problems)
    page.locator("main form button[type=submit]").click()
    endpoint.refresh_from_db()
    expect(page.get_by_test_id("webhook-secret")).to_have_value(endpoint.secret)
    assert endpoint.previous_secret_until is not None

    # --- A failed delivery, sent again; then the endpoint switched off ---------------------------
    core.review_request_documents(
        application=in_review(customer=customer, dealer=dealer),
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )
    WebhookDelivery.objects.filter(endpoint=endpoint).update(
        status=WebhookStatus.FAILED, response_status=503, last_error="HTTP 503"
    )  # as after 24 hours of retries
    page.get_by_role("link", name="完成").click()
    expect(page.get_by_test_id("webhook-deliveries")).to_contain_text("503")
    checked(page, "dealer-webhooks-5-failed", problems)
    page.get_by_role("button", name="重新发送").first.click()
    expect(page.locator(".alert-success")).to_contain_text("这条投递将立即重新尝试。")
    page.get_by_role("button", name="停用").click()
    expect(page.get_by_test_id("webhook-endpoint")).to_contain_text("已停用")
    checked(page, "dealer-webhooks-6-switched-off", problems)
    context.close()
