"""The staff transitions the back office offers: each with its form, service and button style.

What a transition is called (its button, the history's action column) comes from the core's
registry, ``applications.transitions``. The service is the one write path (lock, stage re-check,
the transition's permission, conditions, event row, hooks); the admin only offers the buttons
``available_transitions`` allows and posts the form to the named service, which checks
everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

from applications import services
from applications.transitions import HISTORY_ACTIONS, TRANSITIONS

from .forms import ApprovalForm, ReasonTransitionForm, RequestDocumentsForm, TransitionForm


@dataclass(frozen=True)
class StaffTransition:
    name: str  # the transition method on LoanApplication
    service: Callable
    form_class: type[TransitionForm]
    style: str = "neutral"  # "forward", "neutral" or "stop": the button's colour

    @property
    def label(self) -> Promise:
        return TRANSITIONS[self.name].staff_label


STAFF_TRANSITIONS: dict[str, StaffTransition] = {
    t.name: t
    for t in (
        StaffTransition("recommend_approval", services.review_recommend, TransitionForm, "forward"),
        StaffTransition("request_documents", services.review_request_documents, RequestDocumentsForm),
        StaffTransition("resume_review", services.review_resume, TransitionForm, "forward"),
        StaffTransition("reject_in_review", services.review_reject, ReasonTransitionForm, "stop"),
        StaffTransition("approve", services.approval_approve, ApprovalForm, "forward"),
        StaffTransition("return_to_review", services.approval_return, TransitionForm),
        StaffTransition("decline", services.approval_decline, ReasonTransitionForm, "stop"),
        StaffTransition("sign_contract", services.contract_mark_signed, TransitionForm, "forward"),
        StaffTransition("register_lien", services.lien_mark_registered, TransitionForm, "forward"),
        StaffTransition("disburse", services.disbursement_release, TransitionForm, "forward"),
    )
}


# What every history entry's action is called, staff or not (the history inline shows them).
ACTION_LABELS: dict[str, Promise] = {name: meaning.staff_label for name, meaning in HISTORY_ACTIONS.items()}


def staff_transitions_for(*, application, user) -> list[StaffTransition]:
    """Exactly the staff transitions this user may take on this application now, in button order."""
    allowed = set(services.available_transitions(application=application, user=user))
    return [t for name, t in STAFF_TRANSITIONS.items() if name in allowed]
