"""The Content-Security-Policy in a real browser: Django's admin works under it with its widgets
(the date picker, the two-box group chooser, actions), and an inline style or script in a page is
blocked and reported, so every journey that watches BrowserProblems would fail on one.

The customer pages are covered by every journey (each fails on a violation: ``BrowserProblems``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.pages import BrowserProblems, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_admin_works_under_the_policy(browser: Browser, live_server, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="a-Long-passphrase-42")
    context = signed_in_context(browser, live_server, admin)
    page = context.new_page()
    problems = BrowserProblems(page)
    # The index, the queue, a change form with the two-box chooser and date widgets, an add form
    # with the calendar, the staff list with its actions.
    for path in [
        "/admin/",
        "/admin/applications/loanapplication/",
        f"/admin/accounts/user/{admin.pk}/change/",
        "/admin/applications/calendarday/add/",
        "/admin/reviews/staffmember/",
    ]:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("#content")).to_be_visible()
    page.goto(f"{live_server.url}/admin/accounts/user/{admin.pk}/change/")
    expect(page.locator("#id_groups_from")).to_be_visible()  # SelectFilter2.js built the chooser
    page.goto(f"{live_server.url}/admin/applications/calendarday/add/")
    page.locator(".datetimeshortcuts a").first.click()  # "Today": DateTimeShortcuts.js
    assert page.locator("input.vDateField").first.input_value()
    assert problems.unexpected() == [], "the browser reported problems"

    # A template with an inline style and script, as a page would come from the server with them:
    # both are refused, and the journeys' watcher hears of it.
    def with_inline(route):
        response = route.fetch()
        body = response.text().replace(
            "</main>", '<p id="slipped" style="color: red">x</p><script>document.title = "x"</script></main>'
        )
        route.fulfill(response=response, body=body)

    page.route(f"{live_server.url}/", with_inline)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#slipped")).not_to_have_css("color", "rgb(255, 0, 0)")
    assert page.title() != "x"
    reported = [what for url, what in problems.unexpected() if url == f"{live_server.url}/"]
    assert any("CSP violation: style-src-attr" in what for what in reported), reported
    assert any("CSP violation: script-src-elem" in what for what in reported), reported
    context.close()
