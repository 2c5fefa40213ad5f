"""What the browser tests share: screenshots, the problems a browser reports, what every styled
page must show, and a browser already signed in."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.utils import translation
from playwright.sync_api import Browser, BrowserContext, Page, expect

from applications.choices import MILESTONES

DESKTOP = {"width": 1280, "height": 900}
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
    """Console errors, uncaught exceptions, failed requests (a 404 favicon, a missing stylesheet) and
    Content-Security-Policy violations."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, str]] = []  # (url, what went wrong)
        self.tolerated_paths: set[str] = set()
        page.on("console", lambda message: self._on_console(message, page.url))
        page.on("pageerror", lambda error: self.seen.append((page.url, f"uncaught: {error}")))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        # Anything the Content-Security-Policy blocked in the page or its files, reported by the
        # page itself as well as by Chromium's console line. A violation with no source file comes
        # from a script the test evaluated (axe-core adds style elements of its own): not the site's.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => e.sourceFile && console.error("
            "`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}"
            " (${e.sourceFile}:${e.lineNumber})`))"
        )

    def _on_console(self, message, page_url: str) -> None:
        if message.type != "error":
            return
        url = message.location.get("url")
        if not url and "Content Security Policy" in message.text:
            return  # blocked in a script the test evaluated (axe-core), as above
        # Any other message from such a script has no location of its own either: the page's.
        self.seen.append((url or page_url, f"console: {message.text}"))

    def _on_request_failed(self, request) -> None:
        # ERR_ABORTED: the browser dropped the load because the page moved on (a favicon still loading
        # when a form is submitted), not a failure of the site. A CSP block or a refused connection
        # has its own error and is reported.
        if request.failure != "net::ERR_ABORTED":
            self.seen.append((request.url, f"request failed: {request.failure}"))

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.seen.append((response.url, f"HTTP {response.status}"))

    def tolerate(self, path: str) -> None:
        self.tolerated_paths.add(path)

    def unexpected(self) -> list[tuple[str, str]]:
        return [(url, what) for url, what in self.seen if urlsplit(url).path not in self.tolerated_paths]


def expect_styled(page: Page) -> None:
    """Bootstrap's CSS and JS and our own stylesheet really arrived from the live server."""
    navbar = page.locator(".lp-navbar")
    expect(navbar).to_have_css("background-color", BRAND_BLUE)  # site.css
    expect(navbar).to_have_css("display", "flex")  # bootstrap.min.css
    assert page.evaluate("typeof window.bootstrap") == "object"  # bootstrap.bundle.min.js


# WCAG 2.1 A and AA, as the issue asks; best practices and AAA are not part of the bar.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
    # No fetching of the page's style sheets (only the experimental orientation rule reads them):
    # axe resolves an @import against the page, not the sheet, and asks the site for a file that is
    # not there (admin's forms.css imports widgets.css).
    "preload": False,
}
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
_axe = Axe()  # axe-core's script from inside the package: nothing is fetched


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now, one line
    per element: the rule, its impact, the element and what axe says is wrong with it."""
    results = _axe.run(page, options=AXE_OPTIONS)
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        for node in violation["nodes"]:
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            why = "; ".join(check["message"] for check in checks) or violation["help"]
            target = " ".join(str(part) for part in node["target"])
            problems.append(f"{violation['id']} ({violation['impact']}) at {target}: {why}")
    return problems


def assert_accessible(page: Page, name: str) -> None:
    """The page has no serious or critical WCAG 2.1 A/AA violation (axe-core); ``name`` says which
    page of which journey, so a failure reads "axe on apply-3-loan-375-zh: color-contrast …"."""
    problems = accessibility_problems(page)
    assert not problems, f"axe on {name} ({page.url}):\n  " + "\n  ".join(problems)


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


# --- Signed in ------------------------------------------------------------------------------------


def sign_in(page: Page, live_server, user) -> None:
    """The session of a signed-in customer, handed to the browser (sign-in itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def signed_in_context(browser: Browser, live_server, user, locale: str = "zh-CN") -> BrowserContext:
    """A browser already signed in as ``user`` (the sign-in form itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale=locale, timezone_id="Asia/Shanghai", viewport=DESKTOP)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context
