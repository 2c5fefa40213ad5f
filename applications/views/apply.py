"""Applying: the four-step form (personal, vehicle, loan, consent), the review page and submission.

Each step is saved when it is valid, so a draft can be left and resumed at any point; an invalid
step saves nothing. Only customers apply, and only the draft's own customer (or its creator) sees
it: anyone else gets a 404, so a guessed reference reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from .. import services
from ..choices import Stage
from ..forms import ConsentForm, LoanForm, PersonalForm, VehicleForm, add_service_errors
from ..models import Consent, LoanApplication, WalkInClaim
from ..money import annuity_payment
from ..selectors import customer_drafts
from ..services.documents import document_checklist
from .access import customers_only


@dataclass(frozen=True)
class Step:
    slug: str
    number: int
    short: str  # in the step indicator, four across a phone
    title: str


STEPS = (
    Step("personal", 1, gettext_lazy("Personal"), gettext_lazy("Personal details")),
    Step("vehicle", 2, gettext_lazy("Vehicle"), gettext_lazy("Vehicle and dealer")),
    Step("loan", 3, gettext_lazy("Loan"), gettext_lazy("Your loan")),
    Step("consent", 4, gettext_lazy("Consent"), gettext_lazy("Consent")),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}


def customer_view(view):
    """Signed-in customers only: anonymous visitors are sent to sign in, staff get the 403 page that
    points to the back office, anyone else without the customer role a plain 403."""
    view = require_http_methods(["GET", "POST"])(view)
    view = permission_required("applications.act_as_applicant", raise_exception=True)(view)
    return login_required(customers_only(view))


def _posted(request: HttpRequest):
    """The submitted data, or None on GET: a POST with no fields (no box ticked) is still a POST,
    and must be validated, which ``request.POST or None`` would not do."""
    return request.POST if request.method == "POST" else None


def own_application(request: HttpRequest, reference: str) -> LoanApplication:
    """The user's application by reference, or 404 (another customer's looks like a wrong one).

    The customer's only: a dealer's staff who started a walk-in buyer's file (its ``created_by``)
    follow it in their workspace and never fill in, upload or consent on the buyer's pages."""
    mine = LoanApplication.objects.filter(customer=request.user)
    return get_object_or_404(mine.select_related("applicant", "dealer", "product"), reference=reference)


def next_step(application: LoanApplication, consent_count: int | None = None) -> str:
    """Where a draft continues: the first step not done yet, or the review page when all are."""
    if not hasattr(application, "applicant"):
        step = "personal"
    elif not application.has_vehicle():
        step = "vehicle"
    elif not application.has_loan():
        step = "loan"
    elif (consent_count if consent_count is not None else application.consents.count()) < len(Consent.Kind):
        step = "consent"
    else:
        return reverse("applications:apply_review", args=[application.reference])
    return reverse("applications:apply_step", args=[application.reference, step])


def _step_context(
    current: str, application: LoanApplication | None, consent_count: int | None = None
) -> dict:
    """The step indicator: each step done, current or upcoming, and a link where it can be opened."""
    done = {
        "personal": application is not None and hasattr(application, "applicant"),
        "vehicle": application is not None and application.has_vehicle(),
        "loan": application is not None and application.has_loan(),
        "consent": application is not None
        and application.pk is not None
        and (consent_count if consent_count is not None else application.consents.count())
        >= len(Consent.Kind),
    }
    items, back_url = [], None
    for step in STEPS:
        url = None
        if application is not None and (step.slug != "loan" or done["vehicle"]):
            url = reverse("applications:apply_step", args=[application.reference, step.slug])
        items.append({"step": step, "done": done[step.slug], "current": step.slug == current, "url": url})
    slugs = [step.slug for step in STEPS] + ["review"]
    if application is not None and slugs.index(current) > 0:
        back_url = items[slugs.index(current) - 1]["url"]
    return {"steps": items, "current_step": STEP_BY_SLUG.get(current), "back_url": back_url}


@customer_view
def apply_start(request: HttpRequest) -> HttpResponse:
    """Step 1 of a new application; valid details create the draft and lead on to step 2. The
    mobile number given at sign-up is filled in (the customer may change it)."""
    form = PersonalForm(
        _posted(request), initial={"phone": request.user.phone} if request.user.phone else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # the draft and its applicant, or neither
                application = services.application_create_draft(
                    created_by=request.user, customer=request.user
                )
                services.applicant_set(application=application, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            following = reverse("applications:apply_step", args=[application.reference, "vehicle"])
            return _after_save(request, application, following)
    drafts = [(draft, next_step(draft, draft.consent_count)) for draft in customer_drafts(user=request.user)]
    return render(
        request,
        "applications/apply/personal.html",
        {"form": form, "application": None, "drafts": drafts, **_step_context("personal", None)},
    )


@customer_view
def apply_step(request: HttpRequest, reference: str, step: str) -> HttpResponse:
    if step not in STEP_BY_SLUG:
        raise Http404
    application = own_application(request, reference)
    if application.stage != Stage.DRAFT:
        messages.info(request, _("This application has been submitted; here is its progress."))
        return redirect("applications:detail", reference=application.reference)
    if step == "loan" and not application.has_vehicle():
        messages.info(request, _("Tell us about the vehicle first: the loan depends on it."))
        return redirect("applications:apply_step", application.reference, "vehicle")
    return _STEP_VIEWS[step](request, application)


def _after_save(request: HttpRequest, application: LoanApplication, following: str) -> HttpResponse:
    """Next step, or back to the start page with the draft kept when the customer asked to stop."""
    if "save_and_leave" in request.POST:
        messages.success(
            request,
            _("Your draft %(reference)s is saved. Continue it any time from “Apply for a car loan”.")
            % {"reference": application.display_reference},
        )
        return redirect("applications:apply_start")
    return redirect(following)


def _render_step(request, application, step: str, form, **extra) -> HttpResponse:
    return render(
        request,
        f"applications/apply/{step}.html",
        {"form": form, "application": application, **_step_context(step, application), **extra},
    )


def _personal(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    applicant = getattr(application, "applicant", None)
    extra = {}
    if applicant is None:
        # A walk-in buyer's file (services.dealer): the name the dealer gave and the number they
        # signed in with, for the buyer to check; the rest is theirs to give.
        name = (
            WalkInClaim.objects.filter(application=application).values_list("buyer_name", flat=True).first()
        )
        if name:
            extra["initial"] = {"full_name": name, "phone": request.user.phone}
    form = PersonalForm(_posted(request), applicant=applicant, term_months=application.term_months, **extra)
    if request.method == "POST" and form.is_valid():
        try:
            services.applicant_set(application=application, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            following = reverse("applications:apply_step", args=[application.reference, "vehicle"])
            return _after_save(request, application, following)
    return _render_step(request, application, "personal", form)


def _vehicle(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    form = VehicleForm(_posted(request), application=application)
    if request.method == "POST" and form.is_valid():
        had_loan = application.has_loan()
        try:
            application = services.draft_set_vehicle(application=application, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if had_loan and not application.has_loan():
                messages.warning(
                    request, _("The loan you chose no longer fits this vehicle. Please choose it again.")
                )
            following = reverse("applications:apply_step", args=[application.reference, "loan"])
            return _after_save(request, application, following)
    return _render_step(request, application, "vehicle", form)


def _loan(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    form = LoanForm(_posted(request), application=application)
    if request.method == "POST" and form.is_valid():
        try:
            services.draft_set_loan(application=application, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            following = reverse("applications:apply_step", args=[application.reference, "consent"])
            return _after_save(request, application, following)
    return _render_step(request, application, "loan", form)


def _consent(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    granted = set(application.consents.values_list("kind", flat=True))
    form = ConsentForm(_posted(request), granted=granted)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for kind in Consent.Kind.values:
                services.consent_record(application=application, kind=kind, user=request.user)
        following = reverse("applications:apply_review", args=[application.reference])
        return _after_save(request, application, following)
    return _render_step(request, application, "consent", form, notice_version=settings.PRIVACY_NOTICE_VERSION)


_STEP_VIEWS = {"personal": _personal, "vehicle": _vehicle, "loan": _loan, "consent": _consent}


@dataclass(frozen=True)
class MonthlyEstimate:
    """What the chosen loan would cost a month, before approval sets the rate: equal instalments
    (the offer's default method) at the product's lowest and highest rate for this car."""

    low: Decimal
    high: Decimal
    low_rate: Decimal
    high_rate: Decimal


def monthly_estimate(application: LoanApplication) -> MonthlyEstimate:
    low_rate, high_rate = application.product.rate_range_for(application.powertrain)
    amount, months = application.requested_amount, application.term_months
    return MonthlyEstimate(
        low=annuity_payment(amount, low_rate, months),
        high=annuity_payment(amount, high_rate, months),
        low_rate=low_rate,
        high_rate=high_rate,
    )


@customer_view
def apply_review(request: HttpRequest, reference: str) -> HttpResponse:
    """Everything entered, with a link to edit each step, and the button that submits."""
    application = own_application(request, reference)
    if application.stage != Stage.DRAFT:
        return redirect("applications:detail", reference=application.reference)
    if request.method == "POST":
        try:
            services.application_submit(application=application, actor=request.user)
        except services.TransitionError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Application %(reference)s submitted. The automatic pre-check takes a few seconds.")
                % {"reference": application.display_reference},
            )
            return redirect("applications:detail", reference=application.reference)
    consents = {c.kind: c for c in application.consents.all()}
    consent_count = len(consents)
    monthly = monthly_estimate(application) if application.has_loan() else None
    return render(
        request,
        "applications/apply/review.html",
        {
            "application": application,
            "applicant": getattr(application, "applicant", None),
            "consents": [(kind, label, consents.get(kind)) for kind, label in Consent.Kind.choices],
            "complete": application.is_complete(),
            "continue_url": next_step(application, consent_count),
            "checklist": document_checklist(application),
            "monthly": monthly,
            **_step_context("review", application, consent_count),
        },
    )
