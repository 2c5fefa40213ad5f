"""The registry of what each transition means (``applications.transitions``) covers the state
machine exactly: a transition added without its words, reason kind and message fails here."""

from __future__ import annotations

import pytest
from django.utils import translation

from applications.choices import FINAL_STAGES, ReasonKind, Stage
from applications.models import LoanApplication
from applications.transitions import CREATE, HISTORY_ACTIONS, TRANSITIONS, Notice


def state_machine() -> dict[str, set[str]]:
    """Every transition method of the stage field, with the stages it leads to."""
    targets: dict[str, set[str]] = {}
    for transition in LoanApplication._meta.get_field("stage").get_all_transitions(LoanApplication):
        targets.setdefault(transition.name, set()).add(transition.target)
    return targets


def test_every_transition_of_the_state_machine_has_an_entry():
    assert set(state_machine()) - set(TRANSITIONS) == set()


def test_every_entry_names_a_transition_of_the_state_machine():
    assert set(TRANSITIONS) - set(state_machine()) == set()
    assert CREATE.name not in state_machine()  # the draft's creation is recorded, not transitioned


@pytest.mark.parametrize("name", sorted(HISTORY_ACTIONS))
def test_every_entry_has_words_for_staff_and_customer_in_both_languages(name):
    meaning = HISTORY_ACTIONS[name]
    words = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            words[language] = (str(meaning.staff_label), str(meaning.customer_words), str(meaning.refused))
    assert all(words["en"]) and all(words["zh-hans"])
    assert words["en"] != words["zh-hans"]  # translated, not the English fallback


def test_the_reason_kind_is_declared_in_the_registry_alone():
    """The state machine's own ``custom`` data no longer names one: two places would drift."""
    for transition in LoanApplication._meta.get_field("stage").get_all_transitions(LoanApplication):
        assert "reason_kind" not in transition.custom, transition.name
    for meaning in TRANSITIONS.values():
        assert meaning.reason_kind is None or meaning.reason_kind in ReasonKind.values


def test_a_customer_is_never_rejected_without_a_reason_from_the_catalogue():
    for name, targets in state_machine().items():
        if Stage.REJECTED in targets:
            assert TRANSITIONS[name].reason_kind == ReasonKind.REJECTION, name


def test_the_customer_hears_of_every_decision_and_every_request_for_documents():
    for name, targets in state_machine().items():
        notice = TRANSITIONS[name].notice
        if targets & FINAL_STAGES:
            assert notice == Notice.DECISION, name
        if Stage.AWAITING_DOCUMENTS in targets:
            assert notice == Notice.DOCUMENTS_REQUESTED, name
        if Stage.OFFER_PENDING in targets:
            assert notice == Notice.OFFER_READY, name
