"""The API's cast: two dealerships with a file each, and keys of every kind for the first."""

from __future__ import annotations

import pytest
from django.test import Client

from api.models import Scope
from api.services import api_key_revoke
from applications.tests.factories import DealerFactory, make_draft

from .builders import bearer, make_key


@pytest.fixture
def api(db):
    """A client that speaks JSON to the API (no session, no cookies)."""
    return Client(HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def other_dealer(db):
    return DealerFactory()


@pytest.fixture
def own_file(customer, dealer):
    return make_draft(customer=customer, dealer=dealer)


@pytest.fixture
def other_file(other_customer, other_dealer):
    return make_draft(customer=other_customer, dealer=other_dealer, phone="13900001111")


@pytest.fixture
def write_key(dealer, manager):
    return make_key(dealer=dealer, created_by=manager, scope=Scope.WRITE)


@pytest.fixture
def read_key(dealer, manager):
    return make_key(dealer=dealer, created_by=manager, scope=Scope.READ, name="Reports")


@pytest.fixture
def revoked_key(dealer, manager):
    api_key, plaintext = make_key(dealer=dealer, created_by=manager, name="Old DMS")
    api_key_revoke(api_key=api_key)
    return api_key, plaintext


@pytest.fixture
def writer(write_key):
    """Headers of the dealership's write key."""
    return bearer(write_key[1])


@pytest.fixture
def reader(read_key):
    return bearer(read_key[1])


@pytest.fixture(autouse=True)
def _rate_limit_out_of_the_way(settings):
    """The schema test alone sends hundreds of requests with one key; the limit's own test sets it."""
    settings.API_RATE_LIMIT = 100_000
