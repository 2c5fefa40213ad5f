"""Writes to the domain core. Every change of an application's stage goes through here.

Each public service is keyword-only and atomic: it locks the application row, re-checks that the
stage is still the one the caller saw, checks the transition's permission and conditions, applies
the transition, writes one chained ``StageEvent`` and runs the stage hooks — all in one transaction,
so a refused or failed transition leaves the application and its history exactly as they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from . import hooks
from .choices import FINAL_STAGES, EventKind, Stage
from .models import (
    GENESIS_HASH,
    Applicant,
    Consent,
    Dealer,
    DocumentRequest,
    DocumentType,
    LoanApplication,
    LoanProduct,
    Reason,
    StageDefinition,
    StageEvent,
)
from .pii import birth_date_from_id, keyed_hash, validate_id_number, validate_phone


class TransitionError(Exception):
    """A transition that cannot happen now; ``str(exc)`` is a message fit for the user."""


class StaleApplication(TransitionError):
    """Someone else moved the application on since the caller looked at it."""


class TransitionRefused(TransitionError):
    """Not possible from the current stage, or a condition is not met."""


class ReasonRequired(TransitionError):
    pass


# --- History ------------------------------------------------------------------------------------


def event_record(
    *,
    application: LoanApplication,
    kind: str,
    from_stage: str,
    to_stage: str,
    actor=None,
    transition_name: str = "",
    note: str = "",
    reason_code: str = "",
    data: dict[str, Any] | None = None,
    now: dt.datetime,
) -> StageEvent:
    """Append one event to the application's chain. The caller holds the row lock and saves the
    application afterwards (its ``event_count`` and ``history_head`` move forward here)."""
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
        prev_hash=application.history_head or GENESIS_HASH,
    )
    event.hash = event.compute_hash(application.reference)
    event.save(force_insert=True)
    application.event_count = event.sequence
    application.history_head = event.hash
    return event


# --- Deadlines ----------------------------------------------------------------------------------


def stage_due_at(*, stage: str, entered_at: dt.datetime) -> dt.datetime | None:
    """When the stage should be done: its time limit after entry, or None when it has none."""
    if stage in FINAL_STAGES:
        return None
    definition = StageDefinition.objects.filter(stage=stage).only("sla").first()
    if definition is None or definition.sla is None:
        return None
    return entered_at + definition.sla


# --- The one transition path --------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    application: LoanApplication
    event: StageEvent


def _transition(
    *,
    application: LoanApplication,
    name: str,
    actor,
    note: str = "",
    reason: Reason | None = None,
    now: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    **kwargs: Any,
) -> _Outcome:
    now = now or timezone.now()
    seen_stage = application.stage
    with transaction.atomic():
        locked = LoanApplication.objects.select_for_update().select_related("dealer").get(pk=application.pk)
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
        if not can_proceed(method):
            raise TransitionRefused(_condition_message(locked, name))
        reason_kind = spec.custom.get("reason_kind")
        if reason_kind and (reason is None or reason.kind != reason_kind or not reason.is_active):
            raise ReasonRequired(_("Choose a reason from the catalogue for this action."))

        from_stage = locked.stage
        method(**kwargs)
        locked.stage_entered_at = now
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
            now=now,
        )
        try:
            locked.save()
        except ConcurrentTransition as exc:  # a second guard behind the row lock
            raise StaleApplication(
                _("This application was changed by someone else at the same moment. Reload to see it.")
            ) from exc
        hooks.run_stage_hooks(application=locked, event=event)
    return _Outcome(application=locked, event=event)


def _condition_message(application: LoanApplication, name: str) -> str:
    if name == "submit":
        return _("The application is not complete: fill in every step and give both consents.")
    if name == "resume_review":
        missing = ", ".join(str(t) for t in application.missing_document_types())
        return _("Documents are still missing: %(documents)s.") % {"documents": missing}
    if name == "accept_offer":
        return _("This offer has expired and can no longer be accepted.")
    return _("This action is not possible now.")


def available_transitions(*, application: LoanApplication, user) -> list[str]:
    """Names of the transitions this user may take on this application now."""
    return [t.name for t in application.get_available_user_stage_transitions(user)]


# --- Creating and submitting --------------------------------------------------------------------


@transaction.atomic
def application_create_draft(
    *,
    created_by,
    customer=None,
    dealer: Dealer,
    product: LoanProduct,
    vehicle_make: str,
    vehicle_model: str,
    vehicle_price: Decimal,
    powertrain: str,
    down_payment: Decimal,
    requested_amount: Decimal,
    term_months: int,
    now: dt.datetime | None = None,
) -> LoanApplication:
    now = now or timezone.now()
    application = LoanApplication(
        customer=customer,
        created_by=created_by,
        dealer=dealer,
        product=product,
        vehicle_make=vehicle_make,
        vehicle_model=vehicle_model,
        vehicle_price=vehicle_price,
        powertrain=powertrain,
        down_payment=down_payment,
        requested_amount=requested_amount,
        term_months=term_months,
        stage_entered_at=now,
        created_at=now,
    )
    application.save(force_insert=True)
    event_record(
        application=application,
        kind=EventKind.TRANSITION,
        from_stage="",
        to_stage=Stage.DRAFT,
        actor=created_by,
        transition_name="create",
        now=now,
    )
    application.save(update_fields=["event_count", "history_head"])
    return application


def applicant_set(
    *,
    application: LoanApplication,
    full_name: str,
    id_number: str,
    phone: str,
    employment: str,
    employer: str = "",
    monthly_income: Decimal,
    monthly_debt: Decimal,
) -> Applicant:
    """Record or replace the applicant's details while the application is a draft."""
    if application.stage != Stage.DRAFT:
        raise TransitionRefused(_("Personal details can only be changed before submission."))
    id_number = validate_id_number(id_number)
    phone = validate_phone(phone)
    if monthly_income < 0 or monthly_debt < 0:
        raise ValidationError(_("Income and debt cannot be negative."))
    applicant, _created = Applicant.objects.update_or_create(
        application=application,
        defaults={
            "full_name": full_name.strip(),
            "id_number": id_number,
            "id_number_hash": keyed_hash(id_number),
            "birth_date": birth_date_from_id(id_number),
            "phone": phone,
            "phone_hash": keyed_hash(phone),
            "employment": employment,
            "employer": employer,
            "monthly_income": monthly_income,
            "monthly_debt": monthly_debt,
        },
    )
    return applicant


def consent_record(
    *, application: LoanApplication, kind: str, user, now: dt.datetime | None = None
) -> Consent:
    consent, _created = Consent.objects.get_or_create(
        application=application,
        kind=kind,
        notice_version=settings.PRIVACY_NOTICE_VERSION,
        defaults={"granted_by": user, "granted_at": now or timezone.now()},
    )
    return consent


def application_submit(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(application=application, name="submit", actor=actor, note=note, now=now).application


def application_withdraw(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(application=application, name="withdraw", actor=actor, note=note, now=now).application


# --- System transitions (pre-check, expiry) -----------------------------------------------------


def precheck_start(*, application: LoanApplication, now=None) -> LoanApplication:
    return _transition(application=application, name="start_credit_check", actor=None, now=now).application


def precheck_pass(*, application: LoanApplication, data: dict | None = None, now=None) -> LoanApplication:
    return _transition(
        application=application, name="pass_precheck", actor=None, data=data, now=now
    ).application


def precheck_request_documents(
    *, application: LoanApplication, data: dict | None = None, now=None
) -> LoanApplication:
    return _transition(
        application=application, name="precheck_needs_documents", actor=None, data=data, now=now
    ).application


def precheck_reject(
    *, application: LoanApplication, reason: Reason, data: dict | None = None, now=None
) -> LoanApplication:
    return _transition(
        application=application, name="fail_precheck", actor=None, reason=reason, data=data, now=now
    ).application


def application_expire(
    *, application: LoanApplication, reason: Reason | None = None, now=None
) -> LoanApplication:
    return _transition(application=application, name="expire", actor=None, reason=reason, now=now).application


# --- Review and approval ------------------------------------------------------------------------


def review_request_documents(
    *,
    application: LoanApplication,
    actor,
    document_types: list[DocumentType],
    reason: Reason,
    note: str = "",
    now=None,
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


def review_resume(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="resume_review", actor=actor, note=note, now=now
    ).application


def review_recommend(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="recommend_approval", actor=actor, note=note, now=now, by=actor
    ).application


def review_reject(
    *, application: LoanApplication, actor, reason: Reason, note: str = "", now=None
) -> LoanApplication:
    return _transition(
        application=application, name="reject_in_review", actor=actor, reason=reason, note=note, now=now
    ).application


def approval_return(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="return_to_review", actor=actor, note=note, now=now
    ).application


def approval_approve(
    *,
    application: LoanApplication,
    actor,
    amount: Decimal,
    rate: Decimal,
    term_months: int,
    note: str = "",
    now=None,
) -> LoanApplication:
    """Set the offer. Amount, rate and term must fit the product and the request."""
    product = application.product
    low, high = product.rate_range_for(application.powertrain)
    errors = {}
    if not (product.min_amount <= amount <= min(product.max_amount, application.requested_amount)):
        errors["amount"] = _("The amount must be between %(low)s and %(high)s.") % {
            "low": product.min_amount,
            "high": min(product.max_amount, application.requested_amount),
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
    *, application: LoanApplication, actor, reason: Reason, note: str = "", now=None
) -> LoanApplication:
    return _transition(
        application=application, name="decline", actor=actor, reason=reason, note=note, now=now
    ).application


# --- The customer's answer to the offer ---------------------------------------------------------


def offer_accept(*, application: LoanApplication, actor, now=None) -> LoanApplication:
    return _transition(application=application, name="accept_offer", actor=actor, now=now).application


def offer_decline(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="decline_offer", actor=actor, note=note, now=now
    ).application


# --- Operations and finance ---------------------------------------------------------------------


def contract_mark_signed(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="sign_contract", actor=actor, note=note, now=now
    ).application


def lien_mark_registered(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="register_lien", actor=actor, note=note, now=now
    ).application


def disbursement_release(*, application: LoanApplication, actor, note: str = "", now=None) -> LoanApplication:
    return _transition(
        application=application, name="disburse", actor=actor, note=note, now=now, by=actor
    ).application


# --- The automatic pre-check --------------------------------------------------------------------


def precheck_run(*, application_id: int, now: dt.datetime | None = None) -> LoanApplication:
    """Take a submitted application through the pre-check to review, documents or rejection.

    Safe to run twice or in two workers: each step is a transition from a definite stage, so the
    second runner finds the stage moved on and stops. The bureau is called outside any lock.
    """
    from .bureau import credit_bureau
    from .models import BlacklistEntry
    from .precheck import PrecheckInput, evaluate

    application = LoanApplication.objects.select_related("applicant", "product").get(pk=application_id)
    try:
        if application.stage == Stage.SUBMITTED:
            application = precheck_start(application=application, now=now)
        if application.stage != Stage.CREDIT_CHECK:
            return application
        applicant = application.applicant
        report = credit_bureau().report(id_number=applicant.id_number, full_name=applicant.full_name)
        today = timezone.localdate(now or timezone.now())
        result = evaluate(
            PrecheckInput(
                birth_date=applicant.birth_date,
                today=today,
                term_months=application.term_months,
                vehicle_price=application.vehicle_price,
                down_payment=application.down_payment,
                min_down_payment_ratio=application.product.min_down_payment_ratio_for(application.powertrain),
                requested_amount=application.requested_amount,
                max_rate=application.product.rate_range_for(application.powertrain)[1],
                monthly_income=applicant.monthly_income,
                stated_monthly_debt=applicant.monthly_debt,
                blacklisted=BlacklistEntry.objects.filter(id_number_hash=applicant.id_number_hash).exists(),
                report=report,
            )
        )
        data = {"reasons": result.reasons, "facts": result.facts, "bureau": report.source}
        if not result.passed:
            return precheck_reject(
                application=application, reason=Reason.objects.get(code=result.reasons[0]), data=data, now=now
            )
        missing = application.missing_document_types()
        if missing:
            data["missing_documents"] = [doc_type.code for doc_type in missing]
            return precheck_request_documents(application=application, data=data, now=now)
        return precheck_pass(application=application, data=data, now=now)
    except (StaleApplication, TransitionRefused):
        # Another runner got there first; what it did stands.
        return LoanApplication.objects.get(pk=application_id)


def precheck_stuck_ids(
    *, now: dt.datetime | None = None, older_than: dt.timedelta = dt.timedelta(minutes=2)
) -> list[int]:
    """Applications whose pre-check should have finished: the sweep queues them again (for example
    after the broker was down when they were submitted)."""
    cutoff = (now or timezone.now()) - older_than
    return list(
        LoanApplication.objects.filter(
            stage__in=[Stage.SUBMITTED, Stage.CREDIT_CHECK], stage_entered_at__lte=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
