"""`make load`'s invariant checker (bench/traffic/invariants.py) reports what it must: a file whose
stage is not its last event's, a broken chain among the files a run touched, a message the fake
provider accepted twice, a transition answered as done without its one event, a 5xx. Without
locust: only the load itself imports it."""

from __future__ import annotations

import sys
import threading

import pytest
from django.test import override_settings

from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import DealerFactory, make_draft
from bench.traffic import fakes, invariants
from bench.traffic.backends import ProviderSms


@pytest.fixture
def provider(tmp_path):
    server = fakes.make_server(0, tmp_path / "provider.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, tmp_path / "provider.jsonl"
    server.shutdown()
    server.server_close()


def test_a_stage_that_differs_from_its_last_event_is_reported(customer):
    application = make_draft(customer=customer, dealer=DealerFactory())
    assert invariants.stage_mismatches()[0] == []

    LoanApplication.objects.filter(pk=application.pk).update(stage=Stage.APPROVAL)

    found, _seconds = invariants.stage_mismatches()
    assert found == [f"{application.reference} (id {application.pk}) is at approval, its last event at draft"]


def test_a_broken_chain_among_the_touched_files_is_reported(customer):
    dealer = DealerFactory()
    kept, edited = make_draft(customer=customer, dealer=dealer), make_draft(customer=customer, dealer=dealer)
    edited.events.update(to_stage=Stage.APPROVAL)

    broken, checked, _seconds = invariants.chains([kept.pk, edited.pk])

    assert checked == 2
    assert len(broken) == 1 and broken[0].startswith(f"{edited.reference}: ")
    assert invariants.chains([kept.pk])[:2] == ([], 1)


def test_a_message_the_provider_accepted_twice_is_reported(provider):
    server, record = provider
    with override_settings(LOAD_PROVIDER_URL=f"http://127.0.0.1:{server.server_port}"):
        sms = ProviderSms()
        sms.send(phone="13812345678", text="一", reference="loanportal-delivery-1")
        sms.send(phone="13812345678", text="二", reference="loanportal-delivery-2")
        assert invariants.twice(fakes.read_lines(record), ["sms", "email"]) == []
        # What the portal asks before trying an interrupted delivery again.
        assert sms.was_sent(phone="13812345678", reference="loanportal-delivery-2", since=None) is True
        assert sms.was_sent(phone="13812345678", reference="loanportal-delivery-3", since=None) is False

        sms.send(phone="13812345678", text="二", reference="loanportal-delivery-2")

    assert invariants.twice(fakes.read_lines(record), ["sms", "email"]) == ["sms loanportal-delivery-2 ×2"]


def test_a_transition_answered_as_done_needs_exactly_one_event():
    staff = {
        "ok": True,
        "transition": "approve",
        "application_id": "7",
        "to_stage": "offer_pending",
        "note": "make load a",
        "user": "demo_approver",
        "user_id": 3,
    }
    submitted = {"ok": True, "transition": "submit", "reference": "R1", "to_stage": "submitted", "user": "c"}
    refused = {**staff, "ok": False, "note": "make load b"}
    event = {"application_id": 7, "reference": "R7", "transition": "approve", "to_stage": "offer_pending"}
    events = [
        {**event, "actor_id": 3, "note": "make load a"},
        {"application_id": 1, "reference": "R1", "transition": "submit", "to_stage": "submitted", "note": ""},
    ]
    assert invariants.transitions_lost([staff, submitted, refused], events) == ([], [])

    lost, _ = invariants.transitions_lost([staff, submitted], events[1:])
    assert lost == ["approve of file 7 by demo_approver: 0 events"]
    lost, _ = invariants.transitions_lost([staff, submitted], [*events, events[1]])
    assert lost == ["submit of R1 by c: 2 events"]
    lost, _ = invariants.transitions_lost([staff], [{**events[0], "actor_id": 4}])
    assert lost == ["approve of file 7 by demo_approver: 1 events"]
    # Done, but the load was told otherwise (say a 5xx after the commit), or the run stopped
    # before the answer came: shown, not lost.
    assert invariants.transitions_lost([], [{**event, "actor_id": 3, "note": "make load c"}])[1] == [
        "approve of file 7 (make load c): no answer recorded"
    ]
    assert invariants.transitions_lost([refused], [{**event, "actor_id": 3, "note": "make load b"}]) == (
        [],
        ["approve of file 7 (make load b): answered as not done"],
    )


def test_server_errors_and_requests_never_answered_are_counted_per_name():
    requests = [
        {"name": "customer: timeline", "status": 200},
        {"name": "customer: timeline", "status": 502},
        {"name": "staff: file", "status": 500},
        {"name": "staff: file", "status": 0},
    ]
    assert invariants.server_errors(requests) == {"customer: timeline": 1, "staff: file": 1}
    assert invariants.server_errors(requests, unanswered=True) == {"staff: file": 1}


def test_the_checker_does_not_bring_locust_in():
    """gevent patches the standard library when locust is imported: only the load process may."""
    assert "locust" not in sys.modules
