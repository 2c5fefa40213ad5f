"""The stage hooks as the back office drives them: each hook is told only of the events it asked
for, as a frozen record, and the back office's assignment events do not re-run the others."""

from __future__ import annotations

import dataclasses

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from applications import services as core
from applications.choices import EventKind, Stage
from applications.hooks import StageChange, stage_hook
from applications.models import StageEvent
from notifications.choices import Kind
from notifications.models import Notification

pytestmark = pytest.mark.django_db

TOLD: dict[str, list[StageChange]] = {"transitions": [], "assignments": []}


@stage_hook(EventKind.TRANSITION)
def note_transition(*, change: StageChange) -> None:
    TOLD["transitions"].append(change)


@stage_hook(EventKind.ASSIGNMENT)
def note_assignment(*, change: StageChange) -> None:
    TOLD["assignments"].append(change)


def unmarked(*, change: StageChange) -> None:
    """A hook that does not say which events it wants."""


@pytest.fixture
def listening():
    for seen in TOLD.values():
        seen.clear()
    here = __name__
    hooks = [*settings.LOANPORTAL_STAGE_HOOKS, f"{here}.note_transition", f"{here}.note_assignment"]
    with override_settings(LOANPORTAL_STAGE_HOOKS=hooks):
        yield TOLD


def test_each_hook_is_told_only_of_the_kinds_of_event_it_asked_for(listening, pipeline):
    application = pipeline.new(Stage.APPROVAL)

    kinds = dict(StageEvent.objects.filter(application=application).values_list("sequence", "kind"))
    assert [c.sequence for c in listening["transitions"]] == [
        n
        for n, kind in kinds.items()
        if kind == EventKind.TRANSITION and n > 1  # 1: the draft's creation
    ]
    assert [c.sequence for c in listening["assignments"]] == [
        n for n, kind in kinds.items() if kind == EventKind.ASSIGNMENT
    ]
    assert [c.transition for c in listening["transitions"]] == [
        "submit",
        "start_credit_check",
        "pass_precheck",
        "recommend_approval",
    ]


def test_a_hook_gets_a_frozen_record_of_the_change_not_the_model(listening, pipeline, approver):
    application = pipeline.new(Stage.APPROVAL)

    handover = listening["assignments"][-1]
    assert handover.application_id == application.pk
    assert handover.customer_id == application.customer_id
    assert (handover.to_stage, handover.data["assignee"]) == (Stage.APPROVAL, approver.pk)
    with pytest.raises(dataclasses.FrozenInstanceError):
        handover.to_stage = Stage.REJECTED
    with pytest.raises(TypeError):
        handover.data["assignee"] = None


def test_an_assignment_still_tells_the_assignee(listening, pipeline, approver):
    application = pipeline.new(Stage.APPROVAL)

    handover = listening["assignments"][-1]
    notice = Notification.objects.get(recipient=approver, kind=Kind.NEW_ASSIGNMENT)
    assert notice.dedupe_key == f"assignment:{application.pk}:{handover.sequence}"


def test_a_note_reaches_no_hook(listening, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    before = {key: len(seen) for key, seen in listening.items()}

    core.application_event_add(application=application, kind=EventKind.NOTE, actor=reviewer, note="called")

    assert {key: len(seen) for key, seen in listening.items()} == before


def test_a_hook_that_does_not_say_which_events_it_wants_stops_the_first_change(draft, customer):
    hooks = [*settings.LOANPORTAL_STAGE_HOOKS, f"{__name__}.unmarked"]
    with (
        override_settings(LOANPORTAL_STAGE_HOOKS=hooks),
        pytest.raises(ImproperlyConfigured, match="unmarked"),
    ):
        core.application_submit(application=draft, actor=customer)
