"""The API's reference (/api/docs/, Swagger UI from our own static files) renders in a real browser
under the site's Content-Security-Policy: no violation, nothing fetched from elsewhere."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.pages import BrowserProblems

# As tests/browser/conftest.py says: Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_renders_under_the_policy(browser: Browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    problems = BrowserProblems(page)
    elsewhere = []
    page.on(
        "request", lambda request: request.url.startswith(live_server.url) or elsewhere.append(request.url)
    )
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Loan Portal API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()  # the operations, from /api/schema/
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert problems.unexpected() == [], "the browser reported problems"
    assert elsewhere == []
    context.close()
