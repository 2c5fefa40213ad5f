from __future__ import annotations

import pytest

from accounts.services import user_sign_up

from .builders import PASSWORD, PHONE


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Rate limits live in the shared cache: each test starts with none counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client(client):
    """A visitor whose browser prefers English, so assertions read the English source text."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def phone_customer(db):
    return user_sign_up(phone_or_email=PHONE, password=PASSWORD, language="zh-hans")


@pytest.fixture
def email_customer(db):
    return user_sign_up(phone_or_email="Li.Na@Example.CN", password=PASSWORD, language="en")
