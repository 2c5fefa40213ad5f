"""The staff transitions the back office offers: each with its button label, form and service.

The service is the one write path (lock, stage re-check, the transition's permission, conditions,
event row, hooks); the admin only offers the buttons ``available_transitions`` allows and posts
the form to the named service, which checks everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from applications import services

from .forms import ApprovalForm, ReasonTransitionForm, RequestDocumentsForm, TransitionForm


@dataclass(frozen=True)
class StaffTransition:
    name: str  # the transition method on LoanApplication
    label: Promise
    service: Callable
    form_class: type[TransitionForm]
    style: str = "neutral"  # "forward", "neutral" or "stop": the button's colour


STAFF_TRANSITIONS: dict[str, StaffTransition] = {
    t.name: t
    for t in (
        StaffTransition(
            "recommend_approval",
            _("Recommend approval"),
            services.review_recommend,
            TransitionForm,
            "forward",
        ),
        StaffTransition(
            "request_documents",
            _("Request documents"),
            services.review_request_documents,
            RequestDocumentsForm,
        ),
        StaffTransition(
            "resume_review", _("Resume review"), services.review_resume, TransitionForm, "forward"
        ),
        StaffTransition(
            "reject_in_review", _("Reject"), services.review_reject, ReasonTransitionForm, "stop"
        ),
        StaffTransition(
            "approve", _("Approve and set the offer"), services.approval_approve, ApprovalForm, "forward"
        ),
        StaffTransition("return_to_review", _("Return to review"), services.approval_return, TransitionForm),
        StaffTransition("decline", _("Decline"), services.approval_decline, ReasonTransitionForm, "stop"),
        StaffTransition(
            "sign_contract",
            _("Mark contract signed"),
            services.contract_mark_signed,
            TransitionForm,
            "forward",
        ),
        StaffTransition(
            "register_lien",
            _("Mark lien registered"),
            services.lien_mark_registered,
            TransitionForm,
            "forward",
        ),
        StaffTransition(
            "disburse", _("Release disbursement"), services.disbursement_release, TransitionForm, "forward"
        ),
    )
}


# What every history entry's action is called, staff or not (the history inline shows them).
ACTION_LABELS: dict[str, Promise] = {
    "create": _("Draft created"),
    "submit": _("Submitted"),
    "start_credit_check": _("Pre-check started"),
    "pass_precheck": _("Pre-check passed"),
    "precheck_needs_documents": _("Pre-check: documents needed"),
    "fail_precheck": _("Pre-check failed"),
    "accept_offer": _("Offer accepted"),
    "decline_offer": _("Offer declined"),
    "withdraw": _("Withdrawn by the customer"),
    "expire": _("Expired"),
    **{name: t.label for name, t in STAFF_TRANSITIONS.items()},
}


def staff_transitions_for(*, application, user) -> list[StaffTransition]:
    """Exactly the staff transitions this user may take on this application now, in button order."""
    allowed = set(services.available_transitions(application=application, user=user))
    return [t for name, t in STAFF_TRANSITIONS.items() if name in allowed]
