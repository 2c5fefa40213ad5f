"""The public site in a real browser, on a phone and on a desktop: styled, bilingual, error-free.

Every run leaves full-page screenshots in ``test-results/`` to look at (home-375-zh.png, …).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Page, expect

from applications.choices import MILESTONES

# transaction=True: the live server answers from another thread, so the data must be committed.
# The data the migrations load is put back before each test by conftest's migration_data.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"
VIEWPORTS = [pytest.param(375, 812, id="phone"), pytest.param(1280, 800, id="desktop")]
BRAND_BLUE = "rgb(15, 95, 166)"  # --lp-brand in static/css/site.css
MD_BREAKPOINT = 768  # Bootstrap's navbar-expand-md: narrower screens fold the menu behind a toggler


def milestone_titles(language: str) -> list[str]:
    with translation.override(language):
        return [str(milestone.title) for milestone in MILESTONES]


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


class BrowserProblems:
    """Console errors, uncaught exceptions and failed requests (a 404 favicon, a missing stylesheet)."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, str]] = []  # (url, what went wrong)
        self.tolerated_paths: set[str] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.seen.append((page.url, f"uncaught: {error}")))
        page.on("requestfailed", lambda request: self.seen.append((request.url, "request failed")))
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.seen.append((message.location.get("url", ""), f"console: {message.text}"))

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.seen.append((response.url, f"HTTP {response.status}"))

    def tolerate(self, path: str) -> None:
        self.tolerated_paths.add(path)

    def unexpected(self) -> list[tuple[str, str]]:
        return [(url, what) for url, what in self.seen if urlsplit(url).path not in self.tolerated_paths]


@pytest.fixture
def browser_problems(page: Page):
    problems = BrowserProblems(page)
    yield problems
    assert problems.unexpected() == [], "the browser reported problems"


def expect_styled(page: Page) -> None:
    """Bootstrap's CSS and JS and our own stylesheet really arrived from the live server."""
    navbar = page.locator(".lp-navbar")
    expect(navbar).to_have_css("background-color", BRAND_BLUE)  # site.css
    expect(navbar).to_have_css("display", "flex")  # bootstrap.min.css
    assert page.evaluate("typeof window.bootstrap") == "object"  # bootstrap.bundle.min.js


def expect_no_sideways_scrolling(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


def expect_navbar_on_one_row(page: Page) -> None:
    """Brand, language switcher and (on phones) the menu button share the top row; nothing wraps."""
    brand = page.locator(".lp-navbar .navbar-brand").bounding_box()
    switcher = page.locator(".lp-language").bounding_box()
    assert brand and switcher
    assert switcher["y"] < brand["y"] + brand["height"], "the language switcher wrapped below the brand"
    toggler = page.locator(".lp-navbar .navbar-toggler")
    if toggler.is_visible():
        box = toggler.bounding_box()
        assert box and box["y"] < brand["y"] + brand["height"], "the menu button wrapped below the brand"


def open_account_menu(page: Page) -> None:
    """Unfold the menu on a phone, then open the account menu (notification settings, sign out)."""
    if page.viewport_size["width"] < MD_BREAKPOINT:
        page.locator(".lp-navbar .navbar-toggler").click()
        expect(page.locator("#lp-navbar-menu")).to_have_class(re.compile(r"\bshow\b"))  # done unfolding
    page.locator(".lp-navbar .lp-account-toggle").click()
    expect(page.locator(".lp-nav-account .dropdown-menu")).to_be_visible()


def expect_five_milestones(page: Page, titles: list[str]) -> None:
    milestones = page.locator("#steps .lp-milestone-title")
    expect(milestones).to_have_count(5)
    for milestone, title in zip(milestones.all(), titles, strict=True):
        expect(milestone).to_be_visible()
        expect(milestone).to_contain_text(title)


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
    # Django's own admin templates link no icon, so Chromium asks for /favicon.ico there and gets a
    # 404. Our pages link static/img/favicon.svg; the admin needs the same <link> in an override of
    # templates/admin/base_site.html (not part of this change).
    browser_problems.tolerate("/favicon.ico")
    page.locator(".lp-navbar a[href='/admin/']").click()

    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    screenshot(page, f"admin-login-{width}")
