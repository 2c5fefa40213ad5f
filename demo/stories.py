"""Each demo application's story: the stage it ends in, its route there, its applicant and loan,
its documents and every event of its history, planned in memory against one snapshot of the
configuration and the cast. ``demo.bulk`` turns the stories into rows.

The history is the one the services would have written: each step is a transition of the state
machine (``routes.transition_target``), taken by an actor who may take it (the system for
system transitions, the applicant for the customer's own steps, a reviewer, an approver who did
not review the file and is senior for large loans, operations, finance), with a catalogue
reason of the right kind where one is needed, the real pre-check's outcome, and the documents
each condition needs on file.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured

from accounts.roles import Role
from applications.bureau import SandboxBureau
from applications.choices import CUSTOMER_STAGES, FINAL_STAGES, ReasonKind, Stage
from applications.models import (
    DOCUMENTS_STAGE,
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    BlacklistEntry,
    Dealer,
    DocumentType,
    LoanApplication,
    LoanProduct,
    Reason,
    StageDefinition,
)
from applications.precheck import PrecheckResult

from .chance import between, pick
from .documents import (
    DOCUMENT_REQUESTS,
    PlannedDocument,
    papers_plan,
    placeholder_files,
    with_document_events,
)
from .loans import SENIOR_APPROVAL_THRESHOLD, Loan, fit_income, loan_draw, offer_draw, precheck_outcome
from .people import DEALERS, PERSONAS, Buyer, Person, buyer_name, customer_person, walk_in_person
from .routes import (
    AT_RISK,
    BREACHED,
    CUSTOMER_ONLY,
    NEEDS_CUSTOMER,
    ON_TIME,
    PRECHECK_TRANSITIONS,
    SLA_STATUS_WEIGHTS,
    STAGE_WEIGHTS,
    SYSTEM_TRANSITIONS,
    VARIANTS,
    Step,
    dwell,
    last_event_time,
    route,
    transition_target,
)
from .texts import (
    APPROVAL_DECLINES,
    DELAY_REASONS,
    EXPIRY_REASONS,
    NOTES,
    REASON_NOTES,
    REVIEW_REJECTIONS,
)


@dataclass(frozen=True)
class Spec:
    """What to generate: the stage to end in, how it got there, and its SLA state if open."""

    stage: str
    variant: str | None = None
    sla_status: str | None = None
    owner: str | None = None  # a demo customer's username, or None for a dealer walk-in
    reference: str = ""
    buyer: Buyer | None = None


# The demo customers' own files: something to show in every part of the customer pages.
CUSTOMER_FILES: tuple[Spec, ...] = (
    Spec(Stage.DISBURSED, owner="demo_customer"),
    Spec(Stage.OFFER_PENDING, sla_status=ON_TIME, owner="demo_customer"),
    Spec(Stage.AWAITING_DOCUMENTS, variant="review", sla_status=ON_TIME, owner="demo_customer"),
    Spec(Stage.UNDER_REVIEW, sla_status=AT_RISK, owner="demo_customer"),
    Spec(Stage.DRAFT, owner="demo_customer"),
    Spec(Stage.CONTRACT_SIGNING, sla_status=ON_TIME, owner="demo_customer2"),
    Spec(Stage.REJECTED, variant="review", owner="demo_customer2"),
    Spec(Stage.EXPIRED, variant="offer", owner="demo_customer2"),
)


@dataclass
class Bundle:
    """Everything one application writes, before the bulk inserts (which fill in the ids)."""

    application: dict[str, Any]  # the LoanApplication row, by attname
    person: Person
    creator: Any
    steps: list[Step]
    consented_at: dt.datetime | None
    documents: list[PlannedDocument]
    requests: list[tuple[str, str, dt.datetime, Any]]  # type code, reason code, time, reviewer


def _random_reference() -> str:
    """A reference as ``new_reference`` makes it (same alphabet, length and randomness), from one
    draw of the system's random source instead of one per character: a million references took a
    minute the other way."""
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    symbols = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        symbols.append(REFERENCE_ALPHABET[digit])
    return "".join(symbols)


class Planner:
    """Plans demo applications against one snapshot of configuration and cast, loaded once (a
    forked worker process inherits it)."""

    def __init__(
        self, *, users: dict[str, Any], dealers: dict[str, Dealer], now: dt.datetime, rng: random.Random
    ):
        self.now, self.rng = now, rng
        self.users = users
        self.dealers = [dealers[spec.code] for spec in DEALERS]
        self.districts = {dealers[spec.code].pk: spec.districts for spec in DEALERS}
        self.dealer_staff = {dealers[p.dealer_code].pk: users[p.username] for p in PERSONAS if p.dealer_code}
        self.reviewers = [users["demo_reviewer"], users["demo_reviewer2"]]
        self.sla = dict(StageDefinition.objects.values_list("stage", "sla"))
        self.products = {p.code: p for p in LoanProduct.objects.filter(is_active=True)}
        if "standard" not in self.products:
            raise ImproperlyConfigured("The demo needs the active loan product 'standard'.")
        self.reasons: dict[str, set[str]] = defaultdict(set)
        for code, kind in Reason.objects.filter(is_active=True).values_list("code", "kind"):
            self.reasons[kind].add(code)
        doc_types = {t.code: t for t in DocumentType.objects.all()}
        self.doc_type_ids = {code: t.pk for code, t in doc_types.items()}
        required = defaultdict(list)
        for stage, code in StageDefinition.objects.filter(required_document_types__isnull=False).values_list(
            "stage", "required_document_types__code"
        ):
            required[stage].append(code)
        self.review_documents = sorted(required[DOCUMENTS_STAGE])
        self.document_requests = {
            reason: spec
            for reason, spec in DOCUMENT_REQUESTS.items()
            if reason in self.reasons[ReasonKind.DOCUMENT] and spec[0] in doc_types
        }
        self.files = placeholder_files(list(doc_types))
        self.blacklist = set(BlacklistEntry.objects.values_list("id_number_hash", flat=True))
        self.references = set(LoanApplication.objects.values_list("reference", flat=True))
        self.bureau = SandboxBureau()
        self.reason_ids = dict(Reason.objects.values_list("code", "pk"))
        self.customer_group = Group.objects.get(name=Role.CUSTOMER)
        self.customer_people: dict[str, Person] = {}
        self.unusable_password = make_password(None)

    def specs(self, count: int, *, customer_files: bool) -> list[Spec]:
        """``count`` specs: the demo customers' files, then every stage once, then the weighted mix.

        The first open files with a time limit of an hour or more are on time, at risk and breached,
        so even a small demo shows all three SLA states.
        """
        fixed = list(CUSTOMER_FILES[:count]) if customer_files else []
        stages = list(Stage.values)[: count - len(fixed)]
        stages += self.rng.choices(
            list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()), k=count - len(fixed) - len(stages)
        )
        forced = [ON_TIME, AT_RISK, BREACHED]
        specs = [replace(spec, reference=self.new_reference()) for spec in fixed]
        for stage in stages:
            status = None
            if stage in CUSTOMER_STAGES and self.sla.get(stage):
                # The customer's time: beat reminds them near its end (expiry.py's last reminder)
                # and closes the file past it (the expired stage), so a seeded one is before both.
                status = ON_TIME
            elif stage not in FINAL_STAGES and self.sla.get(stage):
                long_enough = self.sla[stage] >= dt.timedelta(hours=1)
                status = forced.pop(0) if forced and long_enough else pick(self.rng, SLA_STATUS_WEIGHTS)
            variant = pick(self.rng, VARIANTS[stage]) if stage in VARIANTS else None
            reference, buyer = self.new_reference(), None
            if stage in NEEDS_CUSTOMER:
                # The dealer submitted for a walk-in buyer, who needs an account to accept the offer
                # or withdraw; they sign in by SMS, so the account has no password.
                buyer = Buyer(f"buyer_{reference.lower()}", *buyer_name(self.rng))
            specs.append(Spec(stage, variant=variant, sla_status=status, reference=reference, buyer=buyer))
        return specs

    def new_reference(self) -> str:
        while (reference := _random_reference()) in self.references:
            pass
        self.references.add(reference)
        return reference

    def applicant_and_loan(
        self, spec: Spec, dealer_id: int, created: dt.datetime, check_at: dt.datetime | None, outcome: str
    ) -> tuple[Person, Loan, PrecheckResult | None]:
        """A person and a loan whose real pre-check gives ``outcome`` ("pass" or a reason code)."""
        rng = self.rng
        for _attempt in range(100):
            loan = loan_draw(rng, self.products)
            if spec.owner:
                if spec.owner not in self.customer_people:
                    self.customer_people[spec.owner] = customer_person(spec.owner)
                person = self.customer_people[spec.owner]
            else:
                person = walk_in_person(
                    rng,
                    districts=self.districts[dealer_id],
                    created=created,
                    poor_credit=outcome == "credit_history",
                    buyer=spec.buyer,
                    blacklist=self.blacklist,
                )
                share = rng.uniform(0.6, 0.9) if outcome == "dti_too_high" else rng.uniform(0.15, 0.5)
                fit_income(self.bureau, person, loan, debt_to_income=share)
            if check_at is None:
                return person, loan, None
            result = precheck_outcome(self.bureau, person, loan, check_at)
            if (result.reasons[:1] or ["pass"])[0] == outcome:
                return person, loan, result
        raise RuntimeError(f"could not build an applicant whose pre-check gives {outcome!r}")

    def reason(self, kind: str, preferred: Sequence[str]) -> str:
        choices = [code for code in preferred if code in self.reasons[kind]] or sorted(self.reasons[kind])
        if not choices:
            raise ImproperlyConfigured(f"The reason catalogue has no active reason of kind {kind!r}.")
        return self.rng.choice(choices)

    def delay_reason(self, spec: Spec) -> int | None:
        """The cause a manager or the SLA sweep recorded for a late stage the staff own, if any."""
        if spec.stage in CUSTOMER_STAGES or spec.sla_status not in (AT_RISK, BREACHED):
            return None
        if not self.reasons[ReasonKind.DELAY] or self.rng.random() > (
            0.75 if spec.sla_status == BREACHED else 0.25
        ):
            return None
        return self.reason_ids[self.reason(ReasonKind.DELAY, DELAY_REASONS.get(spec.stage, ("high_volume",)))]

    def bundle(self, spec: Spec) -> Bundle:
        """One application's story, ready to be turned into rows."""
        rng, now = self.rng, self.now
        path = route(rng, spec.stage, spec.variant, with_requests=bool(self.document_requests))
        stages: list[str] = []
        for name in path:
            stages.append(transition_target(name, stages[-1] if stages else ""))
        assert stages[-1] == spec.stage, (path, spec)
        times = [
            last_event_time(
                rng, now, stage=spec.stage, sla=self.sla.get(spec.stage), sla_status=spec.sla_status
            )
        ]
        for i in range(len(path) - 2, -1, -1):
            times.append(times[-1] - dwell(rng, self.sla.get(stages[i]), stages[i], path[i + 1]))
        times.reverse()

        dealer = rng.choice(self.dealers)
        staff = self.dealer_staff[dealer.pk]
        owner = self.users[spec.owner] if spec.owner else None
        creator = owner or staff
        check_index = next((i for i, name in enumerate(path) if name in PRECHECK_TRANSITIONS), None)
        check_at = times[check_index] if check_index is not None else None
        outcome = "pass"
        if check_index is not None and path[check_index] == "fail_precheck":
            outcome = rng.choice(
                [c for c in ("credit_history", "dti_too_high") if c in self.reasons[ReasonKind.REJECTION]]
            )
        person, loan, precheck = self.applicant_and_loan(spec, dealer.pk, times[0], check_at, outcome)

        customer = owner or (SimpleNamespace(pk=spec.buyer.pk) if spec.buyer else None)
        if customer is None and CUSTOMER_ONLY.intersection(path):
            raise ValueError(f"{spec}: a customer-only step needs a customer account")
        reviewer = rng.choice(self.reviewers)
        amount, rate, term = offer_draw(rng, loan)
        large = loan.requested > SENIOR_APPROVAL_THRESHOLD
        approver = self.users["demo_senior" if large else "demo_approver"]

        papers = papers_plan(
            rng,
            now,
            path,
            times,
            review_documents=self.review_documents,
            document_requests=self.document_requests,
            uploader=creator,
            reviewer=reviewer,
            auto_resume=customer is not None,
        )
        steps: list[Step] = []
        for i, name in enumerate(path):
            step = Step(name, stages[i - 1] if i else "", stages[i], times[i], None)
            if name in ("create", "submit"):
                step.actor = creator
                if name == "submit" and owner is None:
                    step.note = rng.choice(NOTES["submit_dealer"])
            elif name in PRECHECK_TRANSITIONS:
                step.data = {"reasons": precheck.reasons, "facts": precheck.facts, "bureau": "sandbox"}
                if name == "precheck_needs_documents":
                    step.data["missing_documents"] = papers.missing_at_check
                if name == "fail_precheck":
                    step.reason = precheck.reasons[0]
            elif name == "expire":
                step.reason = self.reason(ReasonKind.EXPIRY, [EXPIRY_REASONS[stages[i - 1]]])
            elif name in ("request_documents", "recommend_approval", "reject_in_review"):
                step.actor = reviewer
                if name == "request_documents":
                    code, reason_code, _at, _by = papers.requests[sum(1 for s in steps if s.name == name)]
                    step.reason, step.data = reason_code, {"documents": [code]}
                    step.note = REASON_NOTES.get(reason_code, "")
                elif name == "reject_in_review":
                    step.reason = self.reason(ReasonKind.REJECTION, REVIEW_REJECTIONS)
                    step.note = REASON_NOTES.get(step.reason, "")
                else:
                    step.note = rng.choice(NOTES[name])
            elif name == "resume_review":  # by the upload service for a customer, else by the reviewer
                step.actor = customer if customer is not None else reviewer
                step.note = rng.choice(NOTES[name]) if step.actor is reviewer else ""
            elif name in ("return_to_review", "approve", "decline"):
                step.actor = approver
                if name == "approve":
                    step.data = {
                        "amount": format(amount, "f"),
                        "rate": format(rate, "f"),
                        "term_months": term,
                    }
                    step.note = rng.choice(NOTES["approve_reduced" if amount < loan.requested else "approve"])
                elif name == "decline":
                    step.reason = self.reason(ReasonKind.REJECTION, APPROVAL_DECLINES)
                    step.note = REASON_NOTES.get(step.reason, "")
                else:
                    step.note = rng.choice(NOTES[name])
            elif name in CUSTOMER_ONLY:
                step.actor = customer
                step.note = rng.choice(NOTES[name]) if name in NOTES else ""
            elif name in ("sign_contract", "register_lien"):
                step.actor, step.note = self.users["demo_ops"], rng.choice(NOTES[name])
            elif name == "disburse":
                step.actor, step.note = self.users["demo_finance"], rng.choice(NOTES[name])
            assert (step.actor is None) == (name in SYSTEM_TRANSITIONS), step
            steps.append(step)
        steps = with_document_events(steps, papers.documents)
        application = self.application_row(
            spec,
            path,
            steps,
            times,
            loan=loan,
            offer=(amount, rate, term),
            dealer=dealer,
            creator=creator,
            customer=customer,
            reviewer=reviewer,
            approver=approver,
        )
        consented_at = None
        if len(path) > 1 or rng.random() < 0.5:  # a draft may not have reached the consent step yet
            consented_at = between(rng, times[0], times[1] if len(times) > 1 else now)
        return Bundle(application, person, creator, steps, consented_at, papers.documents, papers.requests)

    def application_row(
        self,
        spec: Spec,
        path: list[str],
        steps: list[Step],
        times: list[dt.datetime],
        *,
        loan: Loan,
        offer: tuple[Decimal, Decimal, int],
        dealer: Dealer,
        creator: Any,
        customer: Any,
        reviewer: Any,
        approver: Any,
    ) -> dict[str, Any]:
        """The row ``LoanApplication(...)`` would insert at the end of the story. Its stage is written
        once, here, at insertion, as the constructor would set it; nothing assigns a stage afterwards."""
        stage, last = spec.stage, times[-1]
        sla = self.sla.get(stage)
        passed = set(path)
        amount, rate, term = offer
        return {
            "reference": spec.reference,
            "stage": str(stage),
            "customer_id": customer.pk if customer else None,
            "created_by_id": creator.pk,
            "dealer_id": dealer.pk,
            "product_id": loan.product.pk,
            "vehicle_make": loan.vehicle.make,
            "vehicle_model": loan.vehicle.model,
            "vehicle_price": loan.price,
            "powertrain": str(loan.vehicle.powertrain),
            "down_payment": loan.down_payment,
            "requested_amount": loan.requested,
            "term_months": loan.term,
            "approved_amount": amount if "approve" in passed else None,
            "approved_rate": rate if "approve" in passed else None,
            "approved_term_months": term if "approve" in passed else None,
            "reviewed_by_id": reviewer.pk if "recommend_approval" in passed else None,
            "approved_by_id": approver.pk if "approve" in passed else None,
            "disbursed_by_id": self.users["demo_finance"].pk if "disburse" in passed else None,
            "closing_reason": next(s.reason for s in reversed(steps) if s.name)
            if stage in FINAL_STAGES
            else "",
            "stage_entered_at": last,
            "stage_due_at": last + sla if sla is not None and stage not in FINAL_STAGES else None,
            "submitted_at": times[1] if "submit" in passed else None,
            "closed_at": last if stage in FINAL_STAGES else None,
            "created_at": times[0],
            "delay_reason_id": self.delay_reason(spec),
        }
