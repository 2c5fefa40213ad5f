"""The offer page: the figures, both dated schedules with their annualised rates, and the
customer's confirmed answer with the repayment method they chose."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.choices import Stage
from applications.money import repayment_plan, total_interest

from .factories import at_offer, detail_url, in_review, text_of

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
    today = timezone.localdate()
    instalments, principal = (
        repayment_plan(
            method=method,
            amount=Decimal("140000.00"),
            annual_rate=Decimal("0.0588"),
            months=36,
            paid_out_on=today,
        ).rows
        for method in ("equal_instalment", "equal_principal")
    )
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
    response = client.post(
        offer_url(offered),
        {"action": "accept", "repayment_method": "equal_instalment"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Accept this offer?" in text_of(response)
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_a_confirmed_acceptance_moves_on_to_the_contract_with_an_event(client, customer, offered):
    client.force_login(customer)
    response = client.post(
        offer_url(offered),
        {"action": "accept", "repayment_method": "equal_instalment", "confirmed": "yes"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
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
            {"action": "accept", "repayment_method": "equal_instalment", "confirmed": "yes"},
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
    response = client.post(
        offer_url(offered), {"action": "accept", "repayment_method": "equal_instalment", "confirmed": "yes"}
    )
    assert response.status_code == 404
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_the_offer_page_costs_a_fixed_number_of_queries(client, customer, offered, django_assert_num_queries):
    client.force_login(customer)
    # user, the application, unread count (navbar); the schedules are computed, not read; the
    # session comes from the cache
    with django_assert_num_queries(3):
        assert client.get(offer_url(offered)).status_code == 200


# --- The repayment method ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "words"),
    [("equal_instalment", "Equal instalments (等额本息)"), ("equal_principal", "Equal principal (等额本金)")],
)
def test_accepting_records_the_repayment_method_chosen_on_the_application_and_in_the_history(
    client, customer, offered, method, words
):
    client.force_login(customer)
    confirm = client.post(
        offer_url(offered), {"action": "accept", "repayment_method": method}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert f"Repayment: {words}." in text_of(confirm)
    client.post(offer_url(offered), {"action": "accept", "repayment_method": method, "confirmed": "yes"})
    offered.refresh_from_db()
    assert (offered.stage, offered.repayment_method) == (Stage.CONTRACT_SIGNING, method)
    event = offered.events.get(transition="accept_offer")
    assert event.data == {"repayment_method": method}
    assert event.hash == event.compute_hash(offered.reference)  # the choice is inside the chain
    page = client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en")
    assert f"Repayment: {words}." in text_of(page)
    assert [plan.method for plan in page.context["schedules"]] == [method]  # only the agreed schedule
    history = text_of(client.get(detail_url(offered), HTTP_ACCEPT_LANGUAGE="en"))
    assert re.search(rf"You accepted the offer [^.]*?Repayment: {re.escape(words)}\.", history), history


def test_the_confirmation_repeats_the_chosen_schedule_first_payment_date_and_rate(
    client, customer, dealer, reviewer, approver
):
    with time_machine.travel(dt.datetime(2027, 1, 31, 2, tzinfo=dt.UTC), tick=False):
        client.force_login(customer)  # signed in then: a session from today would have expired
        offered = at_offer(customer, dealer, reviewer, approver)
        page = text_of(
            client.post(
                offer_url(offered),
                {"action": "accept", "repayment_method": "equal_principal"},
                HTTP_ACCEPT_LANGUAGE="en",
            )
        )
    # 140,000 / 36 = 3,888.89 principal + 686.00 interest in month one, due a month after today.
    assert (
        "Repayment: Equal principal (等额本金). The first payment of ¥4,574.89 is due on 28 Feb 2027 "
        "if the money is paid out today; ¥12,691.00 interest in total; annualised rate (APR) 5.88%."
    ) in page


@pytest.mark.parametrize("posted", [{}, {"repayment_method": "balloon"}])
def test_accepting_without_a_known_repayment_method_asks_for_one_and_changes_nothing(
    client, customer, offered, posted
):
    client.force_login(customer)
    for confirmed in ({}, {"confirmed": "yes"}):
        response = client.post(
            offer_url(offered),
            {"action": "accept", **posted, **confirmed},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert "Choose how you want to repay the loan." in text_of(response)
    offered.refresh_from_db()
    assert (offered.stage, offered.repayment_method) == (Stage.OFFER_PENDING, "")


def test_the_service_refuses_an_unknown_repayment_method(customer, offered):
    with pytest.raises(ValidationError):
        services.offer_accept(application=offered, actor=customer, repayment_method="balloon")
    offered.refresh_from_db()
    assert offered.stage == Stage.OFFER_PENDING


def test_the_offer_page_asks_for_the_method_with_equal_instalments_preselected(client, customer, offered):
    client.force_login(customer)
    html = client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    radios = {
        re.search(r'value="(\w+)"', tag).group(1): tag
        for tag in re.findall(r'<input[^>]*name="repayment_method"[^>]*>', html)
    }
    assert set(radios) == {"equal_instalment", "equal_principal"}
    assert " checked" in radios["equal_instalment"] and " checked" not in radios["equal_principal"]
    assert all(" required" in tag for tag in radios.values())


# --- Dates and the annualised rate ---------------------------------------------------------------


@time_machine.travel(dt.datetime(2027, 1, 31, 2, tzinfo=dt.UTC), tick=False)  # 10:00 in Shanghai
def test_the_schedule_is_dated_from_today_until_the_money_is_paid_out(client, customer, offered):
    client.force_login(customer)
    response = client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en")
    page = text_of(response)
    assert "The dates assume the money is paid out today, 31 Jan 2027" in page
    rows = response.context["schedules"][0].rows
    # Due on the payout's day each month, the month's last day when shorter: no drift after February.
    assert [row.due_on for row in rows[:3]] == [
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
    ]
    assert rows[-1].due_on == dt.date(2030, 1, 31)
    assert "1 4,251.46 2027-02-28" in page
    assert "Annual interest rate 5.88% APR (IRR) 5.88%" in page
    assert "IRR method" in page


@time_machine.travel(dt.datetime(2027, 1, 20, 2, tzinfo=dt.UTC), tick=False)
def test_a_configured_repayment_day_starts_at_least_a_month_after_the_payout(
    client, customer, offered, settings
):
    settings.REPAYMENT_DAY_OF_MONTH = 15
    client.force_login(customer)
    response = client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="en")
    plans = response.context["schedules"]
    # 15 February is less than a month after 20 January: the first falls due on 15 March.
    assert [row.due_on for row in plans[0].rows[:2]] == [dt.date(2027, 3, 15), dt.date(2027, 4, 15)]
    # A first month's interest over almost two months: the annualised rate falls below the nominal.
    assert all(plan.apr < Decimal("0.0588") for plan in plans)
    assert f"APR (IRR) {plans[0].apr * 100:.2f}%" in text_of(response)


def test_the_totals_add_up_to_the_fen(client, customer, offered):
    client.force_login(customer)
    for plan in client.get(offer_url(offered)).context["schedules"]:
        assert sum(row.principal for row in plan.rows) == Decimal("140000.00")
        assert (
            plan.total_repaid
            == sum(row.payment for row in plan.rows)
            == Decimal("140000.00") + plan.total_interest
        )
        assert plan.total_interest == total_interest(plan.rows)


def test_the_answered_offer_page_costs_one_query_more(client, customer, offered, django_assert_num_queries):
    services.offer_accept(application=offered, actor=customer, repayment_method="equal_principal")
    client.force_login(customer)
    # user, the application, the acceptance event (when it was answered), unread count (navbar);
    # the agreed schedule is computed from the application's own fields
    with django_assert_num_queries(4):
        assert client.get(offer_url(offered)).status_code == 200


def test_the_offer_page_speaks_chinese_about_the_method_and_the_rate(client, customer, offered):
    client.force_login(customer)
    page = text_of(client.get(offer_url(offered), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    for words in ("您希望如何还款？", "等额本息", "等额本金", "年化利率（IRR）5.88%", "内部收益率（IRR）法"):
        assert words in page, words
