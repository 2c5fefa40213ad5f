"""The offer: what the customer is being lent, on what terms, a dated repayment schedule per
method with its annualised rate, and their answer (accept with a repayment method, or decline,
each confirmed on a second step before anything changes); and the printable record of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..choices import EventKind, RepaymentMethod, Stage
from ..models import LoanApplication
from ..money import SCHEDULES, RepaymentPlan, annuity_payment, repayment_plan
from ..templatetags.timeline import reply_by_text
from .access import customers_only
from .timeline import _own_application

_ACCEPTED_STAGES = frozenset(
    {Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION, Stage.DISBURSEMENT, Stage.DISBURSED}
)


@dataclass(frozen=True)
class Offer:
    amount: Decimal
    annual_rate: Decimal
    term_months: int
    vehicle_price: Decimal
    down_payment: Decimal  # the price less the loan: what the customer pays the dealer
    planned_down_payment: Decimal  # what the application said
    monthly_payment: Decimal  # equal instalments
    paid_out_on: dt.date  # the payout's date, or today's while the money is not yet paid out
    paid_out: bool
    plans: list[RepaymentPlan]  # one per repayment method, equal instalments first
    agreed: RepaymentPlan | None  # the one the customer accepted

    @property
    def down_payment_changed(self) -> bool:
        return self.down_payment != self.planned_down_payment

    @property
    def headline(self) -> RepaymentPlan:
        """The plan the offer's figures quote: the one agreed, or equal instalments."""
        return self.agreed or self.plans[0]


def offer_terms(application: LoanApplication, *, today: dt.date) -> Offer:
    """The offer's figures and a dated plan per repayment method (``money.repayment_plan``), in
    Decimal to the fen. The dates run from the payout: its day once the money is paid out (the
    day the file entered "disbursed", a final stage), until then as if it were paid out ``today``.
    """
    amount = application.approved_amount
    annual_rate = application.approved_rate
    months = application.approved_term_months
    paid_out = application.stage == Stage.DISBURSED
    paid_out_on = timezone.localdate(application.stage_entered_at) if paid_out else today
    plans = [
        repayment_plan(
            method=method,
            amount=amount,
            annual_rate=annual_rate,
            months=months,
            paid_out_on=paid_out_on,
            day_of_month=settings.REPAYMENT_DAY_OF_MONTH,
        )
        for method in SCHEDULES
    ]
    agreed = next((plan for plan in plans if plan.method == application.repayment_method), None)
    return Offer(
        amount=amount,
        annual_rate=annual_rate,
        term_months=months,
        vehicle_price=application.vehicle_price,
        down_payment=application.vehicle_price - amount,
        planned_down_payment=application.down_payment,
        monthly_payment=annuity_payment(amount, annual_rate, months),
        paid_out_on=paid_out_on,
        paid_out=paid_out,
        plans=plans,
        agreed=agreed,
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
        # application_id too: the related manager reads it on the row, one more query if deferred.
        .only("application_id", "transition", "created_at")
        .first()
    )
    if application.stage in _ACCEPTED_STAGES or (event is not None and event.transition == "accept_offer"):
        return "accepted", event.created_at if event else None
    if event is not None and event.transition == "decline_offer":
        return "declined", event.created_at
    if event is not None and event.transition == "expire":
        return "expired", event.created_at
    return "closed", None


def _offered_application(request: HttpRequest, reference: str) -> LoanApplication:
    """The signed-in customer's own application with an offer on it; 404 for anything else."""
    application = _own_application(request, reference)
    if application.approved_amount is None:
        raise Http404(_("There is no offer on this application yet."))
    return application


def _answer_post(request: HttpRequest, application: LoanApplication) -> HttpResponse | tuple[str, str]:
    """A POSTed answer: (action, repayment method) to confirm, or the response once it is recorded
    or refused (its message shown; nothing changes)."""
    action = request.POST.get("action", "")
    method = request.POST.get("repayment_method", "") if action == "accept" else ""
    if action not in ("accept", "decline"):
        messages.error(request, _("Choose whether to accept or decline the offer."))
        return redirect("applications:offer", reference=application.reference)
    if action == "accept" and method not in RepaymentMethod.values:
        messages.error(request, _("Choose how you want to repay the loan."))
        return redirect("applications:offer", reference=application.reference)
    if request.POST.get("confirmed") != "yes":
        return action, method
    try:
        if action == "accept":
            services.offer_accept(application=application, actor=request.user, repayment_method=method)
        else:
            services.offer_decline(application=application, actor=request.user)
    except (services.TransitionError, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("applications:offer", reference=application.reference)
    if action == "accept":
        messages.success(request, _("You accepted the offer. We are preparing your contract."))
    else:
        messages.info(request, _("You declined the offer. Your application is now closed."))
    return redirect("applications:detail", reference=application.reference)


@login_required
@customers_only
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the offer and a dated schedule per repayment method. POST ``action`` (and, to accept,
    ``repayment_method``): first the confirmation page, then, with ``confirmed=yes``, the answer
    through the service (its refusal is shown; nothing changes)."""
    application = _offered_application(request, reference)
    confirm = chosen = ""
    if request.method == "POST":
        answer = _answer_post(request, application)
        if isinstance(answer, HttpResponse):
            return answer
        confirm, chosen = answer
    status, answered_at = _answer(application)
    terms = offer_terms(application, today=timezone.localdate())
    chosen = chosen or application.repayment_method or RepaymentMethod.EQUAL_INSTALMENT
    return render(
        request,
        "applications/offer.html",
        {
            "application": application,
            "offer": terms,
            "schedules": [terms.agreed] if terms.agreed else terms.plans,
            "chosen": chosen,
            "chosen_plan": next(plan for plan in terms.plans if plan.method == chosen),
            "chosen_name": RepaymentMethod(chosen).label,
            "agreed_name": RepaymentMethod(terms.agreed.method).label if terms.agreed else "",
            "status": status,
            "answered_at": answered_at,
            "confirm": confirm if status == "open" else "",
            "reply_by_text": (
                reply_by_text(application.stage_due_at, now=timezone.now())
                if status == "open" and application.stage_due_at
                else ""
            ),
            "date_format": pgettext("date format", "j M Y"),
        },
    )


@login_required
@customers_only
@require_GET
def offer_print(request: HttpRequest, reference: str) -> HttpResponse:
    """The offer and its schedule as a record the customer keeps (print it or save it as PDF):
    the reference, when it was printed, the terms (and the method agreed), the schedule, the
    annualised rate, and the history's head, which staff can check against the history."""
    application = _offered_application(request, reference)
    status, answered_at = _answer(application)
    now = timezone.now()
    terms = offer_terms(application, today=timezone.localdate(now))
    return render(
        request,
        "applications/offer_print.html",
        {
            "application": application,
            "offer": terms,
            "schedules": [terms.agreed] if terms.agreed else terms.plans,
            "status": status,
            "answered_at": answered_at,
            "printed_at": now,
            "agreed_name": RepaymentMethod(terms.agreed.method).label if terms.agreed else "",
            "date_format": pgettext("date format", "j M Y"),
        },
    )
