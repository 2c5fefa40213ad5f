"""The offer: what the customer is being lent, on what terms, the full repayment schedules, and
their answer (accept or decline, each confirmed on a second step before anything changes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import services
from ..choices import EventKind, Stage
from ..models import LoanApplication
from ..money import (
    Instalment,
    annuity_payment,
    equal_instalment_schedule,
    equal_principal_schedule,
    total_interest,
)
from ..templatetags.timeline import reply_by_text
from .timeline import _own_application

# The customer's possible answers and the service that records each.
ANSWERS = {"accept": services.offer_accept, "decline": services.offer_decline}
_ACCEPTED_STAGES = frozenset(
    {Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION, Stage.DISBURSEMENT, Stage.DISBURSED}
)


@dataclass(frozen=True)
class Schedule:
    key: str  # "equal_instalment" or "equal_principal"
    rows: list[Instalment]
    first_payment: Decimal
    last_payment: Decimal
    total_interest: Decimal
    total_repaid: Decimal


@dataclass(frozen=True)
class Offer:
    amount: Decimal
    annual_rate: Decimal
    term_months: int
    vehicle_price: Decimal
    down_payment: Decimal  # the price less the loan: what the customer pays the dealer
    planned_down_payment: Decimal  # what the application said
    monthly_payment: Decimal  # equal instalments
    equal_instalment: Schedule
    equal_principal: Schedule

    @property
    def down_payment_changed(self) -> bool:
        return self.down_payment != self.planned_down_payment


def _schedule(key: str, rows: list[Instalment], amount: Decimal) -> Schedule:
    interest = total_interest(rows)
    return Schedule(
        key=key,
        rows=rows,
        first_payment=rows[0].payment,
        last_payment=rows[-1].payment,
        total_interest=interest,
        total_repaid=amount + interest,
    )


def offer_terms(application: LoanApplication) -> Offer:
    """The offer's figures and both schedules, computed in Decimal to the fen (``money``)."""
    amount = application.approved_amount
    annual_rate = application.approved_rate
    months = application.approved_term_months
    return Offer(
        amount=amount,
        annual_rate=annual_rate,
        term_months=months,
        vehicle_price=application.vehicle_price,
        down_payment=application.vehicle_price - amount,
        planned_down_payment=application.down_payment,
        monthly_payment=annuity_payment(amount, annual_rate, months),
        equal_instalment=_schedule(
            "equal_instalment", equal_instalment_schedule(amount, annual_rate, months), amount
        ),
        equal_principal=_schedule(
            "equal_principal", equal_principal_schedule(amount, annual_rate, months), amount
        ),
    )


def _answer(application: LoanApplication) -> tuple[str, dt.datetime | None]:
    """Where the offer stands: "open", "expired_unanswered", "accepted", "declined" or "closed"
    (the application ended another way), with the time of the answer (1 query when answered)."""
    if application.stage == Stage.OFFER_PENDING:
        if application.offer_still_valid():
            return "open", None
        return "expired_unanswered", application.stage_due_at
    event = (
        application.events.filter(
            kind=EventKind.TRANSITION, transition__in=["accept_offer", "decline_offer", "expire"]
        )
        .order_by("-sequence")
        .only("transition", "created_at")
        .first()
    )
    if application.stage in _ACCEPTED_STAGES or (event is not None and event.transition == "accept_offer"):
        return "accepted", event.created_at if event else None
    if event is not None and event.transition == "decline_offer":
        return "declined", event.created_at
    if event is not None and event.transition == "expire":
        return "expired", event.created_at
    return "closed", None


@login_required
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the offer and both schedules. POST ``action``: first the confirmation page, then, with
    ``confirmed=yes``, the answer through the service (its refusal is shown; nothing changes)."""
    application = _own_application(request, reference)
    if application.approved_amount is None:
        raise Http404(_("There is no offer on this application yet."))
    confirm = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ANSWERS:
            messages.error(request, _("Choose whether to accept or decline the offer."))
            return redirect("applications:offer", reference=application.reference)
        if request.POST.get("confirmed") != "yes":
            confirm = action
        else:
            try:
                ANSWERS[action](application=application, actor=request.user)
            except services.TransitionError as exc:
                messages.error(request, str(exc))
                return redirect("applications:offer", reference=application.reference)
            if action == "accept":
                messages.success(request, _("You accepted the offer. We are preparing your contract."))
            else:
                messages.info(request, _("You declined the offer. Your application is now closed."))
            return redirect("applications:detail", reference=application.reference)
    status, answered_at = _answer(application)
    terms = offer_terms(application)
    return render(
        request,
        "applications/offer.html",
        {
            "application": application,
            "offer": terms,
            "schedules": [terms.equal_instalment, terms.equal_principal],
            "status": status,
            "answered_at": answered_at,
            "confirm": confirm if status == "open" else "",
            "reply_by_text": (
                reply_by_text(application.stage_due_at, now=timezone.now())
                if status == "open" and application.stage_due_at
                else ""
            ),
        },
    )
