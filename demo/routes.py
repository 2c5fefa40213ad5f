"""The route a demo application took: which stage it ends in, the transitions that led there (read
from the state machine, so no invented step can slip in) and how long each stay lasted."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from applications.choices import FINAL_STAGES, EventKind, Stage
from applications.models import LoanApplication

from .chance import log_uniform

# The stage mix of a live portfolio: most files still open, a share already closed. A file is in
# submitted or credit check for seconds (the pre-check moves it on), so a live book has next to none
# there: each appears once (``Planner.specs``: every stage once), never in the mix.
STAGE_WEIGHTS = {
    Stage.DRAFT: 7,
    Stage.SUBMITTED: 0,
    Stage.CREDIT_CHECK: 0,
    Stage.UNDER_REVIEW: 15,
    Stage.AWAITING_DOCUMENTS: 7,
    Stage.APPROVAL: 8,
    Stage.OFFER_PENDING: 7,
    Stage.CONTRACT_SIGNING: 5,
    Stage.LIEN_REGISTRATION: 6,
    Stage.DISBURSEMENT: 3,
    Stage.DISBURSED: 22,
    Stage.REJECTED: 10,
    Stage.WITHDRAWN: 4,
    Stage.EXPIRED: 4,
}
# How an application reached an end (or awaiting documents): variant -> weight.
VARIANTS = {
    Stage.AWAITING_DOCUMENTS: {"precheck": 25, "review": 75},
    Stage.REJECTED: {"precheck": 30, "review": 45, "approval": 25},
    Stage.WITHDRAWN: {
        Stage.DRAFT: 15,
        Stage.UNDER_REVIEW: 20,
        Stage.AWAITING_DOCUMENTS: 15,
        Stage.APPROVAL: 10,
        Stage.OFFER_PENDING: 30,
        Stage.CONTRACT_SIGNING: 10,
    },
    Stage.EXPIRED: {"documents": 40, "offer": 60},
}

ON_TIME, AT_RISK, BREACHED = "on_time", "at_risk", "breached"
SLA_STATUS_WEIGHTS = {ON_TIME: 65, AT_RISK: 20, BREACHED: 15}
# Share of the time limit already used, per SLA state (at risk is past 80%, breached past 100%).
# The margins keep a state for a while after seeding, so a page opened a minute later agrees.
ELAPSED_SHARE = {ON_TIME: (0.03, 0.72), AT_RISK: (0.83, 0.97), BREACHED: (1.05, 2.2)}

# Transitions only the applicant may take (``_is_applicant``): a file whose history has one needs a
# customer account, even when a dealer submitted it for a walk-in buyer. These are the stages whose
# every route passes one.
CUSTOMER_ONLY = frozenset({"accept_offer", "decline_offer", "withdraw"})
NEEDS_CUSTOMER = frozenset(
    {Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION, Stage.DISBURSEMENT, Stage.DISBURSED, Stage.WITHDRAWN}
)
SYSTEM_TRANSITIONS = frozenset(
    {"start_credit_check", "pass_precheck", "precheck_needs_documents", "fail_precheck", "expire"}
)
PRECHECK_TRANSITIONS = frozenset({"pass_precheck", "precheck_needs_documents", "fail_precheck"})


@cache
def transition_target(name: str, source: str) -> str:
    """Where the model's transition ``name`` leads from ``source``; ValueError when it does not exist.

    Read from the state machine itself, so a demo history can only take steps the services could.
    """
    if name == "create":
        if source:
            raise ValueError("an application is created once")
        return Stage.DRAFT.value
    method = getattr(LoanApplication, name, None)
    spec = method._django_fsm.get_transition(source) if hasattr(method, "_django_fsm") else None
    if spec is None:
        raise ValueError(f"no transition {name!r} from {source!r}")
    return str(spec.target)


@dataclass
class Step:
    """One history event: a transition (``name``) or, with ``kind`` document, an upload or verdict."""

    name: str
    from_stage: str
    to_stage: str
    at: dt.datetime
    actor: Any  # a user, or None for the system
    note: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = EventKind.TRANSITION.value


def route(
    rng: random.Random, stage: str, variant: str | None = None, *, with_requests: bool = True
) -> list[str]:
    """Transition names from "create" to ``stage``, along one realistic route. ``with_requests``:
    the catalogue lets a reviewer ask for documents (``documents.DOCUMENT_REQUESTS``)."""
    intake = ["create", "submit", "start_credit_check"]

    def to_review() -> list[str]:
        if rng.random() < 0.08:
            return [*intake, "precheck_needs_documents", "resume_review"]
        return [*intake, "pass_precheck"]

    def reviewed() -> list[str]:
        path = to_review()
        if with_requests and rng.random() < 0.18:
            path += ["request_documents", "resume_review"]
        return path

    def to_approval() -> list[str]:
        path = [*reviewed(), "recommend_approval"]
        if rng.random() < 0.06:
            path += ["return_to_review", "recommend_approval"]
        return path

    def to_offer() -> list[str]:
        return [*to_approval(), "approve"]

    match stage:
        case Stage.DRAFT:
            return ["create"]
        case Stage.SUBMITTED:
            return intake[:2]
        case Stage.CREDIT_CHECK:
            return intake
        case Stage.UNDER_REVIEW:
            return [*to_approval(), "return_to_review"] if rng.random() < 0.04 else reviewed()
        case Stage.AWAITING_DOCUMENTS:
            if variant == "precheck" or not with_requests:
                return [*intake, "precheck_needs_documents"]
            return [*reviewed(), "request_documents"]
        case Stage.APPROVAL:
            return to_approval()
        case Stage.OFFER_PENDING:
            return to_offer()
        case Stage.CONTRACT_SIGNING:
            return [*to_offer(), "accept_offer"]
        case Stage.LIEN_REGISTRATION:
            return [*to_offer(), "accept_offer", "sign_contract"]
        case Stage.DISBURSEMENT:
            return [*to_offer(), "accept_offer", "sign_contract", "register_lien"]
        case Stage.DISBURSED:
            return [*to_offer(), "accept_offer", "sign_contract", "register_lien", "disburse"]
        case Stage.REJECTED:
            if variant == "precheck":
                return [*intake, "fail_precheck"]
            if variant == "approval":
                return [*to_approval(), "decline"]
            return [*reviewed(), "reject_in_review"]
        case Stage.WITHDRAWN:
            source = variant or Stage.UNDER_REVIEW
            last = "decline_offer" if source == Stage.OFFER_PENDING else "withdraw"
            return [*route(rng, source, "review", with_requests=with_requests), last]
        case Stage.EXPIRED:
            source = Stage.AWAITING_DOCUMENTS if variant == "documents" else Stage.OFFER_PENDING
            return [*route(rng, source, "review", with_requests=with_requests), "expire"]
    raise ValueError(f"unknown stage {stage!r}")


def dwell(rng: random.Random, sla: dt.timedelta | None, stage: str, leaving_by: str) -> dt.timedelta:
    """How long a past stay in ``stage`` (time limit ``sla``) lasted before ``leaving_by`` took the
    file on."""
    if leaving_by == "expire":  # the sweep notices a few minutes after the deadline
        return (sla or dt.timedelta(days=7)) + dt.timedelta(minutes=rng.uniform(1, 30))
    if stage == Stage.DRAFT:
        return dt.timedelta(minutes=log_uniform(rng, 8, 2 * 24 * 60))
    if stage == Stage.SUBMITTED:  # the pre-check is queued on commit; the sweep catches stragglers
        return dt.timedelta(seconds=rng.uniform(1, 30) if rng.random() < 0.93 else rng.uniform(60, 180))
    if stage == Stage.CREDIT_CHECK:  # the bureau answers in seconds, unless it is retried
        return dt.timedelta(seconds=rng.uniform(2, 60) if rng.random() < 0.95 else rng.uniform(120, 900))
    if stage == Stage.AWAITING_DOCUMENTS:
        return dt.timedelta(hours=log_uniform(rng, 2, 6 * 24))
    if stage == Stage.OFFER_PENDING:  # accepted or declined while the offer still stands
        limit = (sla or dt.timedelta(days=7)).total_seconds() / 3600 * 0.95
        return dt.timedelta(hours=log_uniform(rng, 0.5, limit))
    if sla is None:
        return dt.timedelta(minutes=log_uniform(rng, 10, 24 * 60))
    if leaving_by == "withdraw":
        share = rng.uniform(0.1, 0.9)
    else:
        roll = rng.random()
        share = (
            rng.uniform(0.1, 0.75)
            if roll < 0.72
            else rng.uniform(0.75, 1.0)
            if roll < 0.9
            else rng.uniform(1.0, 1.8)
        )
    return max(sla * share, dt.timedelta(minutes=10))


def last_event_time(
    rng: random.Random, now: dt.datetime, *, stage: str, sla: dt.timedelta | None, sla_status: str | None
) -> dt.datetime:
    """When the file entered the stage it is in: a closed file at some point in the last five
    months, mostly recently; an open one as far into its time limit as its SLA state says."""
    if stage in FINAL_STAGES:
        return now - dt.timedelta(hours=1) - dt.timedelta(days=150 * rng.random() ** 1.8)
    if stage in (Stage.SUBMITTED, Stage.CREDIT_CHECK):  # its pre-check is on its way
        return now - dt.timedelta(seconds=rng.uniform(1, 30))
    if sla is None or sla_status is None:
        return now - dt.timedelta(minutes=log_uniform(rng, 10, 12 * 24 * 60))
    return now - sla * rng.uniform(*ELAPSED_SHARE[sla_status])
