"""The queue's search box reads a reference or mobile number typed in full-width, Arabic-Indic or
mixed digits as its ASCII spelling, and still matches the phone through its keyed hash only."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.choices import Stage
from common.tests.spellings import SPELLINGS, full_width

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:applications_loanapplication_changelist")
SEARCH = reverse("admin:applications_loanapplication_search")  # the box posts (reviews/search.py)


def rows(response) -> list[str]:
    """The references on the page, in order."""
    return re.findall(
        r'class="field-display_reference"><a href="[^"]+">([A-Z0-9-]+)</a>', response.content.decode()
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the delay prediction's figures live there
    yield
    cache.clear()


@SPELLINGS
def test_search_by_a_phone_typed_in_other_digits_goes_through_the_keyed_hash(
    client, pipeline, reviewer, spell
):
    wanted = pipeline.new(Stage.UNDER_REVIEW, phone="13900001111")
    pipeline.new(Stage.UNDER_REVIEW, phone="13900002222")
    client.force_login(reviewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(SEARCH, {"q": spell("+86 139 0000 1111")}, follow=True)

    assert rows(response) == [wanted.display_reference]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "phone_hash" in sql and "13900001111" not in sql


@SPELLINGS
def test_search_by_a_reference_typed_in_other_characters(client, pipeline, reviewer, spell):
    wanted = pipeline.new(Stage.UNDER_REVIEW)
    pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    assert rows(client.post(SEARCH, {"q": spell(wanted.display_reference.lower())}, follow=True)) == [
        wanted.display_reference
    ]


def test_a_phone_typed_in_other_digits_is_still_no_partial_match(client, pipeline, reviewer):
    pipeline.new(Stage.UNDER_REVIEW, phone="13900001111")
    client.force_login(reviewer)

    assert rows(client.post(SEARCH, {"q": full_width("1390000111")}, follow=True)) == []
