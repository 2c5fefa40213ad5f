"""Browser tests: Playwright's sync API drives Debian's Chromium against pytest-django's live_server."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop in the test thread, so Django believes every ORM call
# made there (fixtures, assertions) comes from async code and refuses it. Nothing here is async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A visitor from mainland China: the site must answer in Chinese without being asked."""
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def browser_problems(page):
    """Console errors, uncaught exceptions, failed requests and error answers seen while the test
    runs (``pages.BrowserProblems``: a load the browser aborted as the page moved on is not one);
    the test fails on any it did not tolerate."""
    from .pages import BrowserProblems

    problems = BrowserProblems(page)
    yield problems
    assert problems.unexpected() == [], "the browser reported problems"
