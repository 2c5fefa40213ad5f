"""Each transition records the stay it ends, inside its hash; older histories get theirs filled in
(migration 0016) and still verify."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from applications import services
from applications.choices import EventKind, Stage
from applications.history import verify_chains
from applications.models import GENESIS_HASH, LoanApplication, StageEvent

from .factories import make_draft, stays_as_the_chain_tells

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 in Shanghai
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def history(customer, dealer, reviewer, approver):
    """Submitted, through the pre-check into review, a note inside the review, recommended, sent
    back from approval and recommended again: two stays in review, each with its due time."""
    app = make_draft(customer=customer, dealer=dealer, documents=True)
    app = services.application_submit(application=app, actor=customer, now=NOW)
    app = services.precheck_start(application=app, now=NOW + dt.timedelta(minutes=1))
    app = services.precheck_pass(application=app, now=NOW + dt.timedelta(minutes=2))
    services.application_event_add(application=app, kind=EventKind.NOTE, actor=reviewer, now=NOW + HOUR)
    app = services.review_recommend(application=app, actor=reviewer, now=NOW + 3 * HOUR)
    app = services.approval_return(application=app, actor=approver, now=NOW + 5 * HOUR)
    return services.review_recommend(application=app, actor=reviewer, now=NOW + 6 * HOUR)


def events_of(application) -> list[StageEvent]:
    return list(StageEvent.objects.filter(application=application).order_by("sequence"))


def broken(application):
    return dict(verify_chains())[application.reference]


def as_written_before_0015(application) -> None:
    """Make the history what 0015 found: no stays, every hash computed without one."""
    events, head = events_of(application), GENESIS_HASH
    for event in events:
        event.stay_started_at = event.stay_due_at = None
        event.prev_hash = head
        event.hash = head = event.compute_hash(application.reference)
    StageEvent.objects.bulk_update(events, ["stay_started_at", "stay_due_at", "prev_hash", "hash"])
    LoanApplication.objects.filter(pk=application.pk).update(history_head=head)


def fill() -> None:
    migration = importlib.import_module("applications.migrations.0016_fill_event_stays")
    migration.fill(apps, SimpleNamespace(connection=connection))


def test_a_transition_records_when_the_stage_it_leaves_was_entered_and_due(history):
    events = events_of(history)
    first_review, second_review = [
        e for e in events if e.from_stage == Stage.UNDER_REVIEW and e.kind == "transition"
    ]
    entered_first = next(e for e in events if e.transition == "pass_precheck")
    entered_second = next(e for e in events if e.transition == "return_to_review")

    assert (first_review.stay_started_at, first_review.stay_due_at) == (
        entered_first.created_at,
        entered_first.due_at,
    )
    assert (second_review.stay_started_at, second_review.stay_due_at) == (
        entered_second.created_at,
        entered_second.due_at,
    )
    assert entered_first.due_at is not None and entered_second.due_at is not None


def test_every_event_records_the_stay_its_chain_tells_and_only_transitions_end_one(history):
    events = events_of(history)

    assert [(e.stay_started_at, e.stay_due_at) for e in events] == stays_as_the_chain_tells(events)
    created, note = events[0], next(e for e in events if e.kind == EventKind.NOTE)
    assert (created.stay_started_at, note.stay_started_at) == (None, None)


def test_the_stay_is_covered_by_the_hash(history):
    ended = next(e for e in events_of(history) if e.transition == "recommend_approval")
    assert broken(history) is None

    StageEvent.objects.filter(pk=ended.pk).update(stay_started_at=ended.stay_started_at - HOUR)

    link = broken(history)
    assert link is not None and link.sequence == ended.sequence


def test_a_history_written_before_the_stays_verifies_once_they_are_filled_in(history, customer, dealer):
    recorded = [(e.stay_started_at, e.stay_due_at) for e in events_of(history)]
    newer = make_draft(customer=customer, dealer=dealer)
    newer = services.application_submit(application=newer, actor=customer, now=NOW)
    newer_recorded = [(e.stay_started_at, e.stay_due_at) for e in events_of(newer)]
    as_written_before_0015(history)
    assert broken(history) is None
    assert StageEvent.objects.filter(application=history, stay_started_at__isnull=False).count() == 0

    fill()

    # The filled-in stays are the ones the services record now; the newer history keeps its own.
    assert [(e.stay_started_at, e.stay_due_at) for e in events_of(history)] == recorded
    assert [(e.stay_started_at, e.stay_due_at) for e in events_of(newer)] == newer_recorded
    assert [link for _reference, link in verify_chains() if link is not None] == []


def test_a_filled_in_stay_edited_afterwards_is_named(history):
    as_written_before_0015(history)
    fill()
    ended = next(e for e in events_of(history) if e.transition == "recommend_approval")

    StageEvent.objects.filter(pk=ended.pk).update(stay_due_at=ended.stay_due_at + HOUR)

    link = broken(history)
    assert link is not None and link.sequence == ended.sequence


def test_a_stay_added_to_an_event_that_ends_none_is_named(history):
    as_written_before_0015(history)
    fill()
    note = next(e for e in events_of(history) if e.kind == EventKind.NOTE)

    StageEvent.objects.filter(pk=note.pk).update(stay_started_at=NOW)

    link = broken(history)
    assert link is not None and link.sequence == note.sequence
