"""The tamper-evident history: every change is one chained event; tampering is named."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command

from applications import services
from applications.models import GENESIS_HASH, StageEvent


@pytest.fixture
def submitted(draft, customer):
    application = services.application_submit(application=draft, actor=customer, note="at the showroom")
    application = services.precheck_start(application=application)
    return services.precheck_pass(application=application)


def test_each_transition_writes_one_event_chained_to_the_one_before(submitted, customer):
    events = list(submitted.events.order_by("sequence"))
    assert [e.transition for e in events] == ["create", "submit", "start_credit_check", "pass_precheck"]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert submitted.history_head == events[-1].hash
    assert submitted.event_count == 4
    assert events[1].actor == customer and events[1].note == "at the showroom"
    assert events[2].actor is None  # the system


def test_verify_history_passes_on_an_untouched_history(submitted, capsys):
    call_command("verify_history")
    assert "All 1 application histories verify" in capsys.readouterr().out


def _verify_fails_naming(capsys, text: str) -> None:
    with pytest.raises(CommandError):
        call_command("verify_history")
    err = capsys.readouterr().err
    assert text in err, err


def test_an_edited_event_is_named(submitted, capsys):
    StageEvent.objects.filter(application=submitted, sequence=2).update(reason_code="edited afterwards")
    _verify_fails_naming(capsys, f"{submitted.reference}: event #2: its content no longer matches its hash")


def test_an_edited_note_is_named(submitted, capsys):
    # The hash covers the note's salted digest (so retention can erase it); the digest, the note.
    StageEvent.objects.filter(application=submitted, sequence=2).update(note="edited afterwards")
    _verify_fails_naming(capsys, f"{submitted.reference}: event #2: its note no longer matches its seal")


def test_a_deleted_event_is_named(submitted, capsys):
    StageEvent.objects.filter(application=submitted, sequence=3).delete()
    _verify_fails_naming(capsys, f"{submitted.reference}: event #3: missing")


def test_deleting_the_newest_event_is_detected(submitted, capsys):
    StageEvent.objects.filter(application=submitted, sequence=4).delete()
    _verify_fails_naming(capsys, "the newest events were deleted")


def test_reordered_events_are_named(submitted, capsys):
    # Swap the sequence numbers of events 2 and 3 (through a free number, for the unique constraint).
    StageEvent.objects.filter(application=submitted, sequence=2).update(sequence=99)
    StageEvent.objects.filter(application=submitted, sequence=3).update(sequence=2)
    StageEvent.objects.filter(application=submitted, sequence=99).update(sequence=3)
    _verify_fails_naming(capsys, f"{submitted.reference}: event #2: does not follow the event before it")


def test_only_the_broken_application_is_reported(submitted, customer, dealer, capsys):
    from .factories import make_draft

    intact = make_draft(customer=customer, dealer=dealer)
    StageEvent.objects.filter(application=submitted, sequence=1).update(note="x")
    with pytest.raises(CommandError, match="1 of 2"):
        call_command("verify_history")
    err = capsys.readouterr().err
    assert submitted.reference in err
    assert intact.reference not in err
