"""The public site in a real browser, on a phone and on a desktop: styled, bilingual, error-free.

Every run leaves full-page screenshots in ``test-results/`` to look at (home-375-zh.png, …).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import (
    MD_BREAKPOINT,
    VIEWPORTS,
    accessibility_problems,
    assert_accessible,
    expect_five_milestones,
    expect_navbar_on_one_row,
    expect_no_sideways_scrolling,
    expect_styled,
    milestone_titles,
    screenshot,
)

# transaction=True: the live server answers from another thread, so the data must be committed.
# The default data is put back before each test by the root conftest's _default_data.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_home_page_explains_the_five_steps_in_chinese_and_english(
    page: Page, live_server, browser_problems, width: int, height: int
):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/?from=showroom")
    html = page.locator("html")

    # A browser that prefers Chinese (zh-CN) gets the Chinese page.
    expect(html).to_have_attribute("lang", "zh-hans")
    expect_styled(page)
    expect_no_sideways_scrolling(page)
    expect_navbar_on_one_row(page)
    expect_five_milestones(page, milestone_titles("zh-hans"))
    expect(page.locator("#steps").get_by_text("人工审核", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-current", "true")
    screenshot(page, f"home-{width}-zh")
    assert_accessible(page, f"home-{width}-zh")

    page.get_by_role("button", name="English").click()

    expect(html).to_have_attribute("lang", "en")
    assert urlsplit(page.url)[2:4] == ("/", "from=showroom"), "the switcher must stay on the same page"
    expect_no_sideways_scrolling(page)
    expect_navbar_on_one_row(page)
    expect_five_milestones(page, milestone_titles("en"))
    expect(page.locator("#steps").get_by_text("Credit review", exact=True)).to_be_visible()
    expect(page.locator("#steps").get_by_text("人工审核")).to_have_count(0)
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    screenshot(page, f"home-{width}-en")
    assert_accessible(page, f"home-{width}-en")

    page.get_by_role("button", name="中文").click()

    expect(html).to_have_attribute("lang", "zh-hans")
    assert urlsplit(page.url)[2:4] == ("/", "from=showroom")
    expect(page.locator("#steps").get_by_text("人工审核", exact=True)).to_be_visible()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_staff_sign_in_leads_to_the_back_office_login(
    page: Page, live_server, browser_problems, width: int, height: int
):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/")

    if width < MD_BREAKPOINT:
        page.locator(".navbar-toggler").click()  # Bootstrap's JS unfolds the menu
        expect(page.locator("#lp-navbar-menu")).to_have_class(re.compile(r"\bshow\b"))  # done unfolding
    # Django's own admin templates link no icon, so Chromium asks for /favicon.ico there and gets a
    # 404. Our pages link static/img/favicon.svg; the admin needs the same <link> in an override of
    # templates/admin/base_site.html (not part of this change).
    browser_problems.tolerate("/favicon.ico")
    page.locator(".lp-navbar a[href='/admin/']").click()

    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    screenshot(page, f"admin-login-{width}")


def test_a_missing_page_is_in_the_sites_frame_and_leads_back_home(page: Page, live_server, browser_problems):
    browser_problems.tolerate("/no-such-page/")  # the 404 itself is the point
    page.set_viewport_size({"width": 375, "height": 812})

    response = page.goto(f"{live_server.url}/no-such-page/")

    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_styled(page)
    expect(page.locator("h1")).to_have_text("找不到这个页面")
    screenshot(page, "404-375-zh")
    assert_accessible(page, "404-375-zh")
    page.get_by_role("link", name="返回首页").click()
    expect(page).to_have_url(f"{live_server.url}/")
    assert_accessible(page, "home-375-zh-from-404")


def test_the_accessibility_check_finds_what_it_is_there_to_find(page: Page):
    """The check itself: a faint text and a table that scrolls but cannot be reached by keyboard."""
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main>'
        '<p style="color:#bbb;background:#fff">Faint words</p>'
        '<div style="overflow:auto;width:80px"><table><tr><td style="white-space:nowrap">'
        + "wide " * 40
        + "</td></tr></table></div></main></body></html>"
    )

    rules = {problem.split(" ", 1)[0] for problem in accessibility_problems(page)}

    assert rules == {"color-contrast", "scrollable-region-focusable"}
