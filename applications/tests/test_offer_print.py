"""The printable offer and schedule: what it records, who may open it, and what it costs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from applications import services
from applications.choices import Stage
from applications.history import verify_chains, verify_record
from applications.models import StageEvent

from .factories import at_offer, in_review, text_of

pytestmark = pytest.mark.django_db

# 10:00 in Shanghai on 31 January 2027.
MORNING = dt.datetime(2027, 1, 31, 2, tzinfo=dt.UTC)


@pytest.fixture
def offered(customer, dealer, reviewer, approver):
    with time_machine.travel(MORNING, tick=False):
        return at_offer(customer, dealer, reviewer, approver)


def print_url(application) -> str:
    return reverse("applications:offer_print", args=[application.reference])


@time_machine.travel(MORNING + dt.timedelta(hours=1), tick=False)
def test_the_printable_offer_records_reference_date_terms_schedules_rate_and_history_head(
    client, customer, offered
):
    client.force_login(customer)
    response = client.get(print_url(offered), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = text_of(response)
    for words in (
        f"Application {offered.display_reference}",
        "Printed 31 Jan 2027, 11:00",
        "Status Offered; not yet accepted.",
        "The terms offered",
        "Loan amount ¥140,000.00",
        "Annual interest rate 5.88% Annualised rate (APR, IRR) 5.88%",
        "Term 36 months",
        "IRR method",
        "Repayment schedule: Equal instalments",
        "Repayment schedule: Equal principal",
        "The dates assume the money is paid out today, 31 Jan 2027",
        "1 4,251.46 2027-02-28",  # the first instalment, a month after the payout (month-end)
        "2030-01-31",
        f"history held {offered.event_count} entries",
        offered.history_head,
    ):
        assert words in page, words
    assert len(offered.history_head) == 64
    html = response.content.decode()
    assert "css/print.css" in html and "js/print.js" in html
    assert "<script>" not in html and " style=" not in html.split("<main", 1)[1]  # CSP-ready


def test_the_printed_head_is_the_one_staff_find_in_the_history(client, customer, offered):
    client.force_login(customer)
    head = re.search(r'data-testid="history-head">(\w+)<', client.get(print_url(offered)).content.decode())
    entry = offered.events.get(sequence=offered.event_count)
    assert head.group(1) == entry.hash == entry.compute_hash(offered.reference)
    assert dict(verify_chains())[offered.reference] is None


def test_after_acceptance_it_records_the_method_agreed_and_only_its_schedule(client, customer, offered):
    with time_machine.travel(MORNING + dt.timedelta(hours=2), tick=False):
        accepted = services.offer_accept(
            application=offered, actor=customer, repayment_method="equal_principal"
        )
    with time_machine.travel(MORNING + dt.timedelta(days=3), tick=False):
        client.force_login(customer)  # signed in then: a session from today would have expired
        response = client.get(print_url(accepted), HTTP_ACCEPT_LANGUAGE="en")
    page = text_of(response)
    assert "You accepted this offer on 31 Jan 2027, 12:00." in page
    assert "The terms agreed" in page
    assert "Repayment method Equal principal (等额本金)" in page
    assert "Repayment schedule: Equal principal" in page
    assert "Repayment schedule: Equal instalments" not in page
    assert [plan.method for plan in response.context["schedules"]] == ["equal_principal"]
    assert accepted.history_head in page  # the head after the acceptance (and its assignment)


def test_once_paid_out_the_dates_run_from_the_payout(client, customer, offered, operations, finance):
    application = services.offer_accept(
        application=offered, actor=customer, repayment_method="equal_instalment"
    )
    application = services.contract_mark_signed(application=application, actor=operations)
    application = services.lien_mark_registered(application=application, actor=operations)
    with time_machine.travel(dt.datetime(2027, 3, 10, 3, tzinfo=dt.UTC), tick=False):
        application = services.disbursement_release(application=application, actor=finance)
    assert application.stage == Stage.DISBURSED
    with time_machine.travel(dt.datetime(2027, 6, 1, 3, tzinfo=dt.UTC), tick=False):
        client.force_login(customer)  # signed in then: a session from today would have expired
        response = client.get(print_url(application), HTTP_ACCEPT_LANGUAGE="en")
    page = text_of(response)
    assert "The money was paid out on 10 Mar 2027" in page
    rows = response.context["schedules"][0].rows
    assert (rows[0].due_on, rows[-1].due_on) == (dt.date(2027, 4, 10), dt.date(2030, 3, 10))


def test_another_customer_gets_a_404(client, other_customer, offered):
    client.force_login(other_customer)
    assert client.get(print_url(offered)).status_code == 404


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client, offered):
    response = client.get(print_url(offered))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_there_is_nothing_to_print_before_the_offer(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)
    assert client.get(print_url(application)).status_code == 404


def test_the_printable_offer_costs_a_fixed_number_of_queries(
    client, customer, offered, django_assert_num_queries
):
    client.force_login(customer)
    client.get(print_url(offered))  # the session is cached from here
    # The user, the application, the unread count (navbar); the schedules are computed, not read.
    with django_assert_num_queries(3):
        assert client.get(print_url(offered)).status_code == 200
    services.offer_accept(application=offered, actor=customer, repayment_method="equal_principal")
    # Accepted: the same, and the acceptance event (when it was answered).
    with django_assert_num_queries(4):
        assert client.get(print_url(offered)).status_code == 200


def test_the_offer_page_links_to_its_printable_record(client, customer, offered):
    client.force_login(customer)
    html = client.get(reverse("applications:offer", args=[offered.reference])).content.decode()
    assert f'href="{print_url(offered)}"' in html
    assert Decimal("0.0588") == offered.approved_rate


def test_staff_check_a_printed_record_against_the_history(client, customer, offered, capsys):
    client.force_login(customer)
    html = client.get(print_url(offered)).content.decode()
    printed = re.search(r'data-testid="history-head">(\w+)<', html).group(1)
    count = offered.event_count
    # Later entries do not matter: the record names its own entry.
    services.offer_accept(application=offered, actor=customer, repayment_method="equal_principal")
    # Copied from paper: the reference with its dash, the fingerprint in capitals with a space.
    call_command(
        "verify_history",
        reference=offered.display_reference.lower(),
        entry=count,
        fingerprint=f"{printed[:32].upper()} {printed[32:]}",
    )
    assert "The record verifies" in capsys.readouterr().out
    assert verify_record(reference=offered.reference, entry=count + 1, fingerprint=printed).startswith(
        f"entry {count + 1} of {offered.reference} has the fingerprint"
    )
    with pytest.raises(CommandError, match=r"does not verify: .* has \d+ history entries, not 99"):
        call_command("verify_history", reference=offered.reference, entry=99, fingerprint=printed)


def test_a_record_does_not_verify_once_its_history_was_edited(customer, offered):
    entry = offered.event_count
    printed = offered.events.get(sequence=entry).hash
    StageEvent.objects.filter(application=offered, sequence=2).update(note="edited afterwards")
    problem = verify_record(reference=offered.reference, entry=entry, fingerprint=printed)
    assert problem.startswith("the history is broken:") and "event #2" in problem
