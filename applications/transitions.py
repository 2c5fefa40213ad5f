"""What each transition means, in one place: the registry the back office, the customer's timeline,
the notifications and the transition path itself read.

The state machine in ``models.py`` says what a transition does (source, target, permission,
conditions, the fields it sets). This registry says what it *means*: what staff call it (the
admin's button and the history's action column), what the customer's timeline says happened,
why it is refused when a condition fails, which kind of catalogue reason it needs, and which
message the customer gets afterwards. ``tests/test_transitions_registry.py`` fails when a
transition of the state machine has no entry here, or an entry names none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import ReasonKind


class Notice(StrEnum):
    """The message the customer gets after a transition. ``notifications`` words each one: its
    notification kind has the same value (``notifications.choices.Kind``)."""

    STAGE_CHANGED = "stage_changed"
    DOCUMENTS_REQUESTED = "documents_requested"
    OFFER_READY = "offer_ready"
    DECISION = "decision"  # the file closed: disbursed, rejected, withdrawn or expired
    DELAY = "delay_notice"  # why the current step runs late, and what happens next


NOT_NOW = _("This action is not possible now.")
DOCUMENTS_MISSING = _("Documents are still missing: %(documents)s.")
# Any transition that moves a stage on while a required partner step of the stay is not done
# (``LoanApplication.partner_steps_done``); ``%(steps)s`` is filled in with the steps waited for.
# It takes precedence over the transition's own ``refused``: it names what the stage waits for.
PARTNER_STEPS_WAITING = _("Waiting for partners to finish: %(steps)s. The stage moves on once they are done.")


@dataclass(frozen=True)
class TransitionMeaning:
    name: str  # the transition method on LoanApplication (or "create", the draft's first event)
    staff_label: Promise  # the back office's button, and the action in the staff's history
    customer_words: Promise  # the customer's timeline: what happened, in their words
    # The catalogue reason the transition needs (``services.lifecycle`` refuses one without it),
    # shown to the customer; None when it takes no reason.
    reason_kind: ReasonKind | None = None
    # What the customer is told afterwards; None for steps that follow each other within seconds.
    notice: Notice | None = None
    # Why the transition is refused when one of its conditions fails; ``%(documents)s`` is filled
    # in with the documents still owed.
    refused: Promise = NOT_NOW


TRANSITIONS: dict[str, TransitionMeaning] = {
    meaning.name: meaning
    for meaning in (
        # The customer's or the dealer's
        TransitionMeaning(
            "submit",
            _("Submitted"),
            _("Application submitted"),
            refused=_("The application is not complete: fill in every step and give both consents."),
        ),
        TransitionMeaning(
            "withdraw",
            _("Withdrawn by the customer"),
            _("The application was withdrawn"),
            notice=Notice.DECISION,
        ),
        TransitionMeaning(
            "accept_offer",
            _("Offer accepted"),
            _("You accepted the offer"),
            notice=Notice.STAGE_CHANGED,
            refused=_("This offer has expired and can no longer be accepted."),
        ),
        TransitionMeaning(
            "decline_offer", _("Offer declined"), _("You declined the offer"), notice=Notice.DECISION
        ),
        # The system's: the pre-check and expiry
        TransitionMeaning("start_credit_check", _("Pre-check started"), _("Automatic pre-check started")),
        TransitionMeaning(
            "pass_precheck",
            _("Pre-check passed"),
            _("Pre-check passed: your application went to credit review"),
            notice=Notice.STAGE_CHANGED,
        ),
        TransitionMeaning(
            "precheck_needs_documents",
            _("Pre-check: documents needed"),
            _("Pre-check passed: we need some documents from you"),
            notice=Notice.DOCUMENTS_REQUESTED,
        ),
        TransitionMeaning(
            "fail_precheck",
            _("Pre-check failed"),
            _("Not approved at the automatic pre-check"),
            reason_kind=ReasonKind.REJECTION,
            notice=Notice.DECISION,
        ),
        TransitionMeaning("expire", _("Expired"), _("The application expired"), notice=Notice.DECISION),
        # The staff's, in the order the back office shows the buttons
        TransitionMeaning(
            "recommend_approval",
            _("Recommend approval"),
            _("Credit review finished: your application went to approval"),
            notice=Notice.STAGE_CHANGED,
            refused=DOCUMENTS_MISSING,
        ),
        TransitionMeaning(
            "request_documents",
            _("Request documents"),
            _("The credit review needs more documents from you"),
            reason_kind=ReasonKind.DOCUMENT,
            notice=Notice.DOCUMENTS_REQUESTED,
        ),
        TransitionMeaning(
            "resume_review",
            _("Resume review"),
            _("Documents complete: the credit review continues"),
            notice=Notice.STAGE_CHANGED,
            refused=DOCUMENTS_MISSING,
        ),
        TransitionMeaning(
            "reject_in_review",
            _("Reject"),
            _("Not approved after the credit review"),
            reason_kind=ReasonKind.REJECTION,
            notice=Notice.DECISION,
        ),
        TransitionMeaning(
            "approve",
            _("Approve and set the offer"),
            _("Approved: your offer is ready"),
            notice=Notice.OFFER_READY,
        ),
        TransitionMeaning(
            "return_to_review",
            _("Return to review"),
            _("Returned to the credit review for a further check"),
            notice=Notice.STAGE_CHANGED,
        ),
        TransitionMeaning(
            "decline",
            _("Decline"),
            _("Not approved at the approval stage"),
            reason_kind=ReasonKind.REJECTION,
            notice=Notice.DECISION,
        ),
        TransitionMeaning(
            "sign_contract",
            _("Mark contract signed"),
            _("Contract signed"),
            notice=Notice.STAGE_CHANGED,
            refused=PARTNER_STEPS_WAITING,
        ),
        TransitionMeaning(
            "register_lien",
            _("Mark lien registered"),
            _("Lien registered on the vehicle"),
            notice=Notice.STAGE_CHANGED,
            refused=PARTNER_STEPS_WAITING,
        ),
        TransitionMeaning(
            "disburse",
            _("Release disbursement"),
            _("The loan was paid to the dealer"),
            notice=Notice.DECISION,
            refused=PARTNER_STEPS_WAITING,
        ),
    )
}

# The first event of every history, written when the draft is created (``services.drafts``): a
# transition out of no stage that no method of the state machine takes.
CREATE = TransitionMeaning("create", _("Draft created"), _("Application started"))

# A cause of delay set or changed (``services.delay_cause_set``): not a stage change, an event of
# its own kind (``EventKind.DELAY``) whose ``transition`` names this entry.
DELAY_CAUSE = TransitionMeaning(
    "delay_cause",
    _("Cause of delay set"),
    _("Why this step is taking longer"),
    reason_kind=ReasonKind.DELAY,
    notice=Notice.DELAY,
)

# A partner's step requested, under way, done or failed (``services.partner_steps``): an event of
# its own kind (``EventKind.PARTNER``) whose ``transition`` names this entry.
PARTNER_STEP = TransitionMeaning("partner_step", _("Partner step"), _("A partner's step moved on"))

# Every action a history row's ``transition`` can name.
HISTORY_ACTIONS: dict[str, TransitionMeaning] = {
    CREATE.name: CREATE,
    DELAY_CAUSE.name: DELAY_CAUSE,
    PARTNER_STEP.name: PARTNER_STEP,
    **TRANSITIONS,
}
