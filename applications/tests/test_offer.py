"""The offer page: the figures, both schedules, and the customer's confirmed answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from applications.choices import Stage
from applications.money import equal_instalment_schedule, equal_principal_schedule, total_interest

from .factories import at_offer, in_review, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(customer, dealer, reviewer, approver):
    return at_offer(customer, dealer, reviewer, approver)


def offer_url(application) -> str:
    return reverse("applications:offer", args=[application.reference])


def test_the_offer_shows_the_terms_and_both_full_schedules(client, customer, offered):
    client.force_login(customer)
    response = client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = text_of(response)
    for words in (
        "Loan amount ¥140,000.00",
        "Annual interest rate 5.88%",
        "Term 36 months",
        "Down payment ¥60,000.00",  # the ¥200,000.00 car less the loan
        "Monthly payment ¥4,251.46",
        "Equal instalments",
        "Equal principal",
    ):
        assert words in page
    instalments = equal_instalment_schedule(Decimal("140000.00"), Decimal("0.0588"), 36)
    principal = equal_principal_schedule(Decimal("140000.00"), Decimal("0.0588"), 36)
    schedules = response.context["schedules"]
    assert [s.rows for s in schedules] == [instalments, principal]
    assert f"¥{total_interest(instalments):,.2f}" in page
    assert f"¥{total_interest(principal):,.2f}" in page
    assert response.content.decode().count("<tr>") == 2 * (36 + 1)  # every month, and a header each


def test_there_is_no_offer_page_before_approval(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)
    assert client.get(offer_url(application)).status_code == 404


def test_accepting_asks_to_confirm_before_anything_changes(client, customer, offered):
    client.force_login(customer)
    response = client.post(offer_url(offered), {"action": "accept"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Accept this offer?" in text_of(response)
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_a_confirmed_acceptance_moves_on_to_the_contract_with_an_event(client, customer, offered):
    client.force_login(customer)
    response = client.post(
        offer_url(offered), {"action": "accept", "confirmed": "yes"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    offered.refresh_from_db()
    assert offered.stage == Stage.CONTRACT_SIGNING
    event = offered.events.last()
    assert (event.transition, event.actor_id) == ("accept_offer", customer.pk)
    assert response.redirect_chain[-1][0] == reverse("applications:detail", args=[offered.reference])
    page = text_of(response)
    assert "You accepted the offer. We are preparing your contract." in page
    states = [m.state for m in response.context["timeline"].milestones]
    assert states == ["done", "done", "done", "current", "upcoming"]
    again = text_of(client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en"))
    assert "You accepted this offer on" in again
    assert "Accept the offer" not in again


def test_a_confirmed_decline_closes_the_application_with_an_event(client, customer, offered):
    client.force_login(customer)
    client.post(offer_url(offered), {"action": "decline", "confirmed": "yes"})
    offered.refresh_from_db()
    assert offered.stage == Stage.WITHDRAWN
    assert offered.events.last().transition == "decline_offer"
    assert "You declined this offer on" in text_of(client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en"))


def test_accepting_after_the_offer_expired_explains_why_and_changes_nothing(client, customer, offered):
    client.force_login(customer)
    events = offered.events.count()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        response = client.post(
            offer_url(offered),
            {"action": "accept", "confirmed": "yes"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    page = text_of(response)
    assert "This offer has expired and can no longer be accepted." in page
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING  # the expiry sweep closes it; the customer cannot
    assert offered.events.count() == events
    assert "Accept the offer" not in page


def test_an_unknown_answer_changes_nothing(client, customer, offered):
    client.force_login(customer)
    response = client.post(offer_url(offered), {"action": "sign", "confirmed": "yes"}, follow=True)
    assert response.status_code == 200
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_another_customer_cannot_answer_the_offer(client, other_customer, offered):
    client.force_login(other_customer)
    response = client.post(offer_url(offered), {"action": "accept", "confirmed": "yes"})
    assert response.status_code == 404
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_the_offer_page_costs_a_fixed_number_of_queries(client, customer, offered, django_assert_num_queries):
    client.force_login(customer)
    # user, the application, unread count (navbar); the schedules are computed, not read; the
    # session comes from the cache
    with django_assert_num_queries(3):
        assert client.get(offer_url(offered)).status_code == 200
