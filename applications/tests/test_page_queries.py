"""Query counts of the customer pages ``make bench`` measures that no other test pins: the home page
signed in, and the timeline at every milestone the customer follows, with every cache empty and
as a repeat view. (The list, the credit-review timeline, offer, inbox, documents and /track/
result are pinned beside their own behaviour.)"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from applications import services
from applications.choices import Stage
from applications.prediction import duration_table_refresh

from .factories import at_offer, awaiting_documents, detail_url, in_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_home_page_signed_in_reads_the_frame_and_the_configuration_once(
    client, customer, django_assert_num_queries
):
    client.force_login(customer)
    cache.clear()
    # Every cache empty: the session (then cached), the user, the customer's applications (none
    # here), the unread count (navbar); the configuration for the milestones (stage definitions,
    # document types, reasons: then cached).
    with django_assert_num_queries(7):
        assert client.get(reverse("applications:home")).status_code == 200
    # Again: the user, the customer's applications and the unread count.
    with django_assert_num_queries(3):
        assert client.get(reverse("applications:home")).status_code == 200


def _in_review(cast, dealer):
    return in_review(cast["customer"], dealer)


def _awaiting_documents(cast, dealer):
    return awaiting_documents(cast["customer"], dealer, cast["reviewer"])


def _offer(cast, dealer):
    return at_offer(cast["customer"], dealer, cast["reviewer"], cast["approver"])


def _contract(cast, dealer):
    return services.offer_accept(application=_offer(cast, dealer), actor=cast["customer"])


def _disbursed(cast, dealer):
    application = services.contract_mark_signed(application=_contract(cast, dealer), actor=cast["operations"])
    application = services.lien_mark_registered(application=application, actor=cast["operations"])
    return services.disbursement_release(application=application, actor=cast["finance"])


@pytest.mark.parametrize(
    ("build", "stage"),
    [
        (_in_review, Stage.UNDER_REVIEW),
        (_awaiting_documents, Stage.AWAITING_DOCUMENTS),
        (_offer, Stage.OFFER_PENDING),
        (_contract, Stage.CONTRACT_SIGNING),
        (_disbursed, Stage.DISBURSED),
    ],
    ids=["credit review", "awaiting documents", "offer waiting", "contract signing", "disbursed"],
)
def test_the_timeline_costs_the_same_queries_at_every_milestone(
    client, cast, dealer, settings, build, stage, django_assert_num_queries
):
    settings.TIMELINE_CACHE_SECONDS = 60  # as served: the body cached per version of the file
    application = build(cast, dealer)
    assert application.stage == stage
    client.force_login(cast["customer"])
    cache.clear()
    duration_table_refresh()  # as beat keeps it: no page computes the delay prediction's table
    # Every cache empty: the session (then cached); the user; the application's version (five
    # columns, for the ETag and the body's cache key); the unread count (navbar, and the page's
    # ETag); the body, built: the application with the cause of a delay, the configuration
    # (stage definitions, document types, reasons: then cached), the customer-visible events (the
    # stage changes and the latest 20), the documents with type and rejection reason, the
    # document requests.
    with django_assert_num_queries(11):
        assert client.get(detail_url(application)).status_code == 200
    # The repeat view: the user, the application's version (not the file: the body comes from the
    # cache), the unread count.
    with django_assert_num_queries(3) as repeat:
        assert client.get(detail_url(application)).status_code == 200
    version = repeat.captured_queries[1]["sql"]
    assert "applications_loanapplication" in version
    assert "requested_amount" not in version and "JOIN" not in version
