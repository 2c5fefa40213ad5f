"""The queue's search box posts: a mobile number never reaches an address (the redirect, the links
the page renders), only a token that means nothing outside the searcher's session; a reference
still goes in the address like admin's own search."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from applications.choices import Stage
from common.pii import keyed_hash
from common.tests.spellings import full_width

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:applications_loanapplication_changelist")
SEARCH = reverse("admin:applications_loanapplication_search")
PHONE = "13900001111"


def rows(response) -> list[str]:
    return re.findall(
        r'class="field-display_reference"><a href="[^"]+">([A-Z0-9-]+)</a>', response.content.decode()
    )


def addresses(response) -> list[str]:
    """Every address the page names: links, form targets, sources."""
    return re.findall(r'(?:href|action|src)="([^"]*)"', response.content.decode())


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the delay prediction's figures live there
    yield
    cache.clear()


@pytest.fixture
def wanted(pipeline):
    pipeline.new(Stage.UNDER_REVIEW, phone="13900002222")
    return pipeline.new(Stage.UNDER_REVIEW, phone=PHONE)


@pytest.mark.parametrize("typed", [PHONE, "+86 139 0000 1111", full_width(PHONE)])
def test_a_phone_search_never_puts_the_number_in_an_address(client, reviewer, wanted, typed):
    client.force_login(reviewer)

    redirect = client.post(SEARCH, {"q": typed, "keep": "queue=mine&q=old&p=2"})

    location = redirect["Location"]
    assert redirect.status_code == 302 and location.startswith(QUEUE)
    assert "find=" in location and "queue=mine" in location  # the other filters are kept
    assert "q=" not in location and "p=" not in location  # the old search and its page are not
    secret = (PHONE, "0000", "1111", keyed_hash(PHONE))
    assert not any(part in location for part in secret)

    page = client.get(location)

    assert rows(page) == [wanted.display_reference]
    assert "Mobile number 139****1111" in page.content.decode()
    for address in addresses(page):
        assert not any(part in address for part in secret), address


def test_a_reference_still_goes_in_the_address(client, reviewer, wanted):
    client.force_login(reviewer)

    redirect = client.post(SEARCH, {"q": wanted.display_reference.lower()})

    assert redirect["Location"] == f"{QUEUE}?q={wanted.reference}"
    assert rows(client.get(redirect["Location"])) == [wanted.display_reference]


def test_a_number_typed_into_the_address_finds_nothing_and_says_to_use_the_box(client, reviewer, wanted):
    client.force_login(reviewer)

    page = client.get(QUEUE, {"q": PHONE}, follow=True)

    assert rows(page) == []
    assert "Search for a mobile number with the search box" in page.content.decode()


def test_a_search_token_means_nothing_in_another_session(client, reviewer, wanted):
    client.force_login(reviewer)
    location = client.post(SEARCH, {"q": PHONE})["Location"]
    colleague = Client(headers={"accept-language": "en"})
    colleague.force_login(reviewer)  # the same person, another session (another browser)

    page = colleague.get(location)

    assert rows(page) == []
    assert "This search has expired: search again." in page.content.decode()


def test_the_search_box_posts_with_no_number_in_it(client, reviewer, wanted):
    client.force_login(reviewer)

    page = client.get(client.post(SEARCH, {"q": PHONE})["Location"]).content.decode()

    form = re.search(r'<form id="changelist-search"[^>]*>', page).group(0)
    assert 'method="post"' in form and f'action="{SEARCH}"' in form
    assert 'name="q" value=""' in re.sub(r"\s+", " ", page)  # the box is empty, not the number
    assert client.get(SEARCH).status_code == 405
