"""Writes to the domain core. Every change of an application's stage goes through here.

Each public service is keyword-only and atomic: it locks the application row, re-checks that the
stage is still the one the caller saw, checks the transition's permission and conditions, applies
the transition, writes one chained ``StageEvent`` and runs the stage hooks — all in one transaction,
so a refused or failed transition leaves the application and its history exactly as they were.
What a transition needs (a reason's kind) and says when refused come from ``transitions.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from .. import hooks, owners, sla
from ..choices import FINAL_STAGES, EventKind, RepaymentMethod
from ..models import (
    GENESIS_HASH,
    DocumentRequest,
    DocumentType,
    LoanApplication,
    Reason,
    StageDefinition,
    StageEvent,
)
from ..transitions import PARTNER_STEPS_WAITING, TRANSITIONS, TransitionMeaning

if TYPE_CHECKING:
    from accounts.models import User


class TransitionError(Exception):
    """A transition that cannot happen now; ``str(exc)`` is a message fit for the user."""


class StaleApplication(TransitionError):
    """Someone else moved the application on since the caller looked at it."""


class TransitionRefused(TransitionError):
    """Not possible from the current stage, or a condition is not met."""


class ReasonRequired(TransitionError):
    pass


class NotAssignedToYou(TransitionError):
    """A member of staff acting on a file a colleague holds: they claim it first (visibly)."""


# Managers may act on any file: their action is theirs in the history, and they reassign work.
MANAGE_PERMISSION = "applications.manage_applications"


def refuse_if_held_by_another(*, application: LoanApplication, actor: User) -> None:
    """Back-office staff act on files assigned to them, or to nobody (then the permission alone
    decides): transitions, document verdicts and causes of delay alike. The caller holds the
    application's row lock. The holder is asked through ``settings.LOANPORTAL_OWNER_SELECTOR``: the core never
    imports the back office. Customers and dealer staff (not ``is_staff``) answer for the customer
    whoever holds the file, and are not asked."""
    if not actor.is_staff or actor.has_perm(MANAGE_PERMISSION):
        return
    holder_id = owners.owner_id(application.pk)
    if holder_id is None or holder_id == actor.pk:
        return
    holder = get_user_model().objects.filter(pk=holder_id).first()
    raise NotAssignedToYou(
        _("This application is assigned to %(name)s: claim it first (“Assign to me”), then act.")
        % {"name": holder.get_username() if holder else "—"}
    )


# --- History ------------------------------------------------------------------------------------


def event_record(
    *,
    application: LoanApplication,
    kind: str,
    from_stage: str,
    to_stage: str,
    actor: User | None = None,
    transition_name: str = "",
    note: str = "",
    reason_code: str = "",
    data: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
    stay_started_at: dt.datetime | None = None,
    stay_due_at: dt.datetime | None = None,
    now: dt.datetime,
) -> StageEvent:
    """Append one event to the application's chain. The caller holds the row lock and saves the
    application afterwards (its ``event_count`` and ``history_head`` move forward here).
    ``due_at``: for a transition, when the stage it enters is due (kept for the SLA report);
    ``stay_started_at`` and ``stay_due_at``: when the stage it leaves was entered and due (the
    stay it ends, read as one row by the report and the prediction)."""
    event = StageEvent(
        application=application,
        sequence=application.event_count + 1,
        kind=kind,
        transition=transition_name,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor,
        created_at=now,
        note=note,
        reason_code=reason_code,
        data=data or {},
        due_at=due_at,
        stay_started_at=stay_started_at,
        stay_due_at=stay_due_at,
        prev_hash=application.history_head or GENESIS_HASH,
    )
    event.seal_note()  # the hash covers the note's salted digest, so retention can erase the note
    event.hash = event.compute_hash(application.reference)
    event.save(force_insert=True)
    application.event_count = event.sequence
    application.history_head = event.hash
    return event


# --- Deadlines ----------------------------------------------------------------------------------


def stage_due_at(*, stage: str, entered_at: dt.datetime) -> dt.datetime | None:
    """When the stage should be done, or None when it has no time limit.

    Staff stages count their limit in working time on the working calendar (``applications.sla``):
    24 h is 24 working hours. Stages that wait on the customer (``CUSTOMER_STAGES``) pause the
    staff clock; their limit is the customer's deadline, in calendar time, as are the automatic
    steps that run day and night (``sla.CALENDAR_TIME_STAGES``).
    """
    if stage in FINAL_STAGES:
        return None
    definition = StageDefinition.objects.filter(stage=stage).only("sla").first()
    if definition is None or definition.sla is None:
        return None
    if stage in sla.CALENDAR_TIME_STAGES:
        return entered_at + definition.sla
    calendar = sla.load_calendar(around=entered_at.astimezone(dt.UTC).date())
    return sla.add_working_time(entered_at, definition.sla, calendar)


# --- The one transition path --------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    application: LoanApplication
    event: StageEvent


def _transition(
    *,
    application: LoanApplication,
    name: str,
    actor: User | None,
    note: str = "",
    reason: Reason | None = None,
    now: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    **kwargs: Any,
) -> _Outcome:
    now = now or timezone.now()
    seen_stage = application.stage
    with transaction.atomic():
        # Lock the application row only: a draft's dealer may be NULL (an outer join), and
        # PostgreSQL cannot lock the nullable side of one.
        locked = (
            LoanApplication.objects.select_for_update(of=("self",))
            .select_related("dealer")
            .get(pk=application.pk)
        )
        if locked.stage != seen_stage:
            raise StaleApplication(
                _("This application has moved on to “%(stage)s” since you opened it. Reload to see it.")
                % {"stage": locked.get_stage_display()}
            )
        method = getattr(locked, name)
        meta = method._django_fsm
        spec = meta.get_transition(locked.stage)
        if spec is None:
            raise TransitionRefused(
                _("This action is not possible while the application is at “%(stage)s”.")
                % {"stage": locked.get_stage_display()}
            )
        if actor is None:
            if not spec.custom.get("system"):
                raise PermissionDenied(_("Only a signed-in person may take this action."))
        elif not meta.has_transition_perm(locked, locked.stage, actor):
            raise PermissionDenied(_("You are not allowed to take this action on this application."))
        else:
            refuse_if_held_by_another(application=locked, actor=actor)
        meaning = TRANSITIONS[name]
        if not can_proceed(method):
            raise TransitionRefused(_condition_message(locked, meaning))
        reason_kind = meaning.reason_kind
        if reason_kind and (reason is None or reason.kind != reason_kind or not reason.is_active):
            raise ReasonRequired(_("Choose a reason from the catalogue for this action."))

        from_stage = locked.stage
        # The stay this transition ends, before the fields below move on to the next one.
        stay_started_at, stay_due_at = locked.stage_entered_at, locked.stage_due_at
        if locked.delay_reason_id is not None:  # and its cause of delay, for the SLA report
            data = {**(data or {}), "delay_reason": locked.delay_reason.code}
        method(**kwargs)
        locked.stage_entered_at = now
        # A delay, and the sweep's verdict on it, belong to the stage that ran late.
        locked.delay_reason = None
        # The partner steps the next stay waits for are counted when it requests them (a hook).
        locked.partner_steps_waiting = 0
        locked.sla_state = sla.SlaState.ON_TIME
        locked.sla_escalated_at = None
        locked.stage_due_at = stage_due_at(stage=locked.stage, entered_at=now)
        if locked.stage in FINAL_STAGES:
            locked.closed_at = now
            locked.closing_reason = reason.code if reason else ""
        event = event_record(
            application=locked,
            kind=EventKind.TRANSITION,
            from_stage=from_stage,
            to_stage=locked.stage,
            actor=actor,
            transition_name=name,
            note=note,
            reason_code=reason.code if reason else "",
            data=data,
            due_at=locked.stage_due_at,
            stay_started_at=stay_started_at,
            stay_due_at=stay_due_at,
            now=now,
        )
        try:
            locked.save()
        except ConcurrentTransition as exc:  # a second guard behind the row lock
            raise StaleApplication(
                _("This application was changed by someone else at the same moment. Reload to see it.")
            ) from exc
        hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=locked.customer_id))
        # A hook may have appended events (the back office's assignment): the chain head is the
        # row's, read back so the caller gets the application as it now is.
        locked.refresh_from_db(
            fields=["event_count", "history_head", "delay_reason", "partner_steps_waiting", "updated_at"]
        )
    return _Outcome(application=locked, event=event)


def _condition_message(application: LoanApplication, meaning: TransitionMeaning) -> str:
    if not application.partner_steps_done():
        from .partner_steps import partner_steps_waited_for  # partner_steps imports this module

        return str(PARTNER_STEPS_WAITING) % {"steps": partner_steps_waited_for(application=application)}
    message = str(meaning.refused)
    if "%(documents)s" in message:
        missing = ", ".join(str(t) for t in application.missing_document_types())
        message %= {"documents": missing}
    return message


def available_transitions(*, application: LoanApplication, user: User) -> list[str]:
    """Names of the transitions this user may take on this application now."""
    # django-fsm adds get_available_user_<field>_transitions to the model class at run time.
    transitions = application.get_available_user_stage_transitions(user)  # type: ignore[attr-defined]
    return [t.name for t in transitions]


def application_submit(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    now = now or timezone.now()
    return _transition(
        application=application, name="submit", actor=actor, note=note, now=now, at=now
    ).application


def application_withdraw(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(application=application, name="withdraw", actor=actor, note=note, now=now).application


# --- System transitions (pre-check, expiry) -----------------------------------------------------


def precheck_start(*, application: LoanApplication, now: dt.datetime | None = None) -> LoanApplication:
    return _transition(application=application, name="start_credit_check", actor=None, now=now).application


def precheck_pass(
    *, application: LoanApplication, data: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="pass_precheck", actor=None, data=data, now=now
    ).application


def precheck_request_documents(
    *, application: LoanApplication, data: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="precheck_needs_documents", actor=None, data=data, now=now
    ).application


def precheck_reject(
    *,
    application: LoanApplication,
    reason: Reason,
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> LoanApplication:
    return _transition(
        application=application, name="fail_precheck", actor=None, reason=reason, data=data, now=now
    ).application


def application_expire(
    *, application: LoanApplication, reason: Reason | None = None, now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(application=application, name="expire", actor=None, reason=reason, now=now).application


# --- Review and approval ------------------------------------------------------------------------


def review_request_documents(
    *,
    application: LoanApplication,
    actor: User,
    document_types: list[DocumentType],
    reason: Reason,
    note: str = "",
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Ask the customer for documents; each type becomes an open request the customer sees."""
    if not document_types:
        raise ValidationError(_("Choose at least one document to request."))
    now = now or timezone.now()
    with transaction.atomic():
        outcome = _transition(
            application=application,
            name="request_documents",
            actor=actor,
            reason=reason,
            note=note,
            data={"documents": sorted(t.code for t in document_types)},
            now=now,
        )
        DocumentRequest.objects.bulk_create(
            DocumentRequest(
                application=outcome.application,
                document_type=doc_type,
                reason=reason,
                requested_at=now,
                requested_by=actor,
            )
            for doc_type in document_types
        )
    return outcome.application


def review_resume(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="resume_review", actor=actor, note=note, now=now
    ).application


def review_recommend(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="recommend_approval", actor=actor, note=note, now=now, by=actor
    ).application


def review_reject(
    *,
    application: LoanApplication,
    actor: User,
    reason: Reason,
    note: str = "",
    now: dt.datetime | None = None,
) -> LoanApplication:
    return _transition(
        application=application, name="reject_in_review", actor=actor, reason=reason, note=note, now=now
    ).application


def approval_return(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="return_to_review", actor=actor, note=note, now=now
    ).application


def approval_approve(
    *,
    application: LoanApplication,
    actor: User,
    amount: Decimal,
    rate: Decimal,
    term_months: int,
    note: str = "",
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Set the offer. Amount, rate and term must fit the product and the request."""
    product, requested = application.product, application.requested_amount
    # Submission requires both (drafts.draft_set_loan), so an application under approval has them.
    assert product is not None and requested is not None
    low, high = product.rate_range_for(application.powertrain)
    errors = {}
    if not (product.min_amount <= amount <= min(product.max_amount, requested)):
        errors["amount"] = _("The amount must be between %(low)s and %(high)s.") % {
            "low": product.min_amount,
            "high": min(product.max_amount, requested),
        }
    if not (low <= rate <= high):
        errors["rate"] = _("The rate must be between %(low)s and %(high)s.") % {"low": low, "high": high}
    if term_months not in product.terms:
        errors["term_months"] = _("This product does not offer a term of %(term)s months.") % {
            "term": term_months
        }
    if errors:
        raise ValidationError(errors)
    return _transition(
        application=application,
        name="approve",
        actor=actor,
        note=note,
        now=now,
        data={"amount": format(amount, "f"), "rate": format(rate, "f"), "term_months": term_months},
        by=actor,
        amount=amount,
        rate=rate,
        term_months=term_months,
    ).application


def approval_decline(
    *,
    application: LoanApplication,
    actor: User,
    reason: Reason,
    note: str = "",
    now: dt.datetime | None = None,
) -> LoanApplication:
    return _transition(
        application=application, name="decline", actor=actor, reason=reason, note=note, now=now
    ).application


# --- The customer's answer to the offer ---------------------------------------------------------


def offer_accept(
    *,
    application: LoanApplication,
    actor: User,
    repayment_method: str = RepaymentMethod.EQUAL_INSTALMENT,
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Accept the offer, repaying by ``repayment_method`` (a ``RepaymentMethod``), recorded on the
    application and in the event's data, so the history says which schedule was agreed. The
    customer's page always asks; without a choice (a dealer's walk-in buyer, the demo) it is
    equal instalments, the schedule the offer's monthly payment is quoted on."""
    if repayment_method not in RepaymentMethod.values:
        raise ValidationError({"repayment_method": _("Choose how you want to repay the loan.")})
    return _transition(
        application=application,
        name="accept_offer",
        actor=actor,
        now=now,
        data={"repayment_method": str(repayment_method)},
        repayment_method=str(repayment_method),
    ).application


def offer_decline(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="decline_offer", actor=actor, note=note, now=now
    ).application


# --- Operations and finance ---------------------------------------------------------------------


def contract_mark_signed(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="sign_contract", actor=actor, note=note, now=now
    ).application


def lien_mark_registered(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="register_lien", actor=actor, note=note, now=now
    ).application


def disbursement_release(
    *, application: LoanApplication, actor: User, note: str = "", now: dt.datetime | None = None
) -> LoanApplication:
    return _transition(
        application=application, name="disburse", actor=actor, note=note, now=now, by=actor
    ).application


# --- Events that are not stage changes (documents, assignments) ---------------------------------


def application_event_add(
    *,
    application: LoanApplication,
    kind: str,
    actor: User | None = None,
    note: str = "",
    reason_code: str = "",
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> StageEvent:
    """Append a non-transition event (a document accepted or rejected, an assignment) to the
    application's chain under the row lock, and run the hooks that react to its kind.

    The chain head moves on in the row only: a copy of the application the caller holds keeps
    the head it was read with (``_transition`` reads it back after its hooks)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
        event = event_record(
            application=locked,
            kind=kind,
            from_stage=locked.stage,
            to_stage=locked.stage,
            actor=actor,
            note=note,
            reason_code=reason_code,
            data=data,
            now=now,
        )
        locked.save(update_fields=["event_count", "history_head", "updated_at"])
        hooks.run_stage_hooks(change=hooks.StageChange.of(event, customer_id=locked.customer_id))
    return event
