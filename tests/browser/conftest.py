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
