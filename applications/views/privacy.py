"""The customer's privacy page (PIPL): download my data (JSON, or a readable page to print), ask
for a correction, give or withdraw marketing consent, close my account.

Every view works on the signed-in customer only: there is no person or file in the URL but the
customer's own (a correction may name one of their files, chosen from their own list).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services import user_marketing_consent_set

from .. import services
from ..choices import Stage
from ..models import CorrectionRequest, LoanApplication
from ..privacy import (
    ApplicationData,
    CustomerData,
    customer_corrections,
    customer_data,
    open_files,
    privacy_parts,
)
from .access import customers_only
from .timeline import history_entries


class CorrectionForm(forms.Form):
    subject = forms.ChoiceField(
        label=gettext_lazy("What is wrong?"), choices=CorrectionRequest.Subject.choices
    )
    application = forms.ChoiceField(
        label=gettext_lazy("Which application (if it is about one)"), required=False
    )
    details = forms.CharField(
        label=gettext_lazy("What should it say?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The correct details, and anything that helps us check them."),
    )

    def __init__(self, *args: Any, applications: list[LoanApplication], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.applications = {app.reference: app for app in applications}
        self.fields["application"].choices = [("", gettext_lazy("Not about one application"))] + [
            (app.reference, app.display_reference) for app in applications
        ]


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def _money(value) -> str | None:
    return None if value is None else format(value, "f")


def _application_export(item: ApplicationData, data: CustomerData) -> dict[str, Any]:
    app = item.application
    applicant = getattr(app, "applicant", None)
    history = history_entries(_History(item.events, data.reasons, data.document_types))
    return {
        "reference": app.display_reference,
        "stage": app.get_stage_display(),
        "created_at": _iso(app.created_at),
        "submitted_at": _iso(app.submitted_at),
        "closed_at": _iso(app.closed_at),
        "dealer": app.dealer.name if app.dealer else None,
        "product": app.product.localized("name") if app.product else None,
        "vehicle": {
            "make": app.vehicle_make,
            "model": app.vehicle_model,
            "price": _money(app.vehicle_price),
            "powertrain": app.get_powertrain_display() if app.powertrain else "",
        },
        "loan": {
            "down_payment": _money(app.down_payment),
            "requested_amount": _money(app.requested_amount),
            "term_months": app.term_months,
            "approved_amount": _money(app.approved_amount),
            "approved_annual_rate": _money(app.approved_rate),
            "approved_term_months": app.approved_term_months,
            "repayment_method": app.get_repayment_method_display() if app.repayment_method else "",
        },
        "applicant": (
            {
                "full_name": applicant.full_name,
                "id_number": applicant.id_number,
                "birth_date": _iso(applicant.birth_date),
                "mobile_number": applicant.phone,
                "employment": applicant.get_employment_display(),
                "employer": applicant.employer,
                "monthly_income": _money(applicant.monthly_income),
                "monthly_debt": _money(applicant.monthly_debt),
            }
            if applicant is not None
            else None
        ),
        "consents": [
            {
                "kind": c.get_kind_display(),
                "notice_version": c.notice_version,
                "granted_at": _iso(c.granted_at),
            }
            for c in item.consents
        ],
        "documents": [
            {
                "name": d.original_name,
                "type": d.document_type.localized("name"),
                "status": d.get_status_display(),
                "uploaded_at": _iso(d.uploaded_at),
                "size_bytes": d.size,
            }
            for d in item.documents
        ],
        "history": [
            {"at": _iso(entry.at), "what": entry.title, "detail": entry.detail} for entry in reversed(history)
        ],
    }


class _History:
    """What ``timeline.history_entries`` reads of a timeline: the events and the catalogue."""

    def __init__(self, events, reasons, document_types) -> None:
        self.events, self.reasons, self.document_types = events, reasons, document_types


def export_document(data: CustomerData, *, now: dt.datetime) -> dict[str, Any]:
    """The customer's data as one document, in their language: the JSON download and the
    printable page are both this."""
    user = data.user
    return {
        "exported_at": _iso(now),
        "account": {
            "user_name": user.username,
            "name": user.get_full_name(),
            "email": user.email,
            "mobile_number": user.phone,
            "language": user.get_language_display(),
            "joined_at": _iso(user.date_joined),
            "last_sign_in": _iso(user.last_login),
            "marketing_consent": {
                "given": user.marketing_consent_at is not None,
                "given_at": _iso(user.marketing_consent_at),
                "notice_version": user.marketing_notice_version,
                "withdrawn_at": _iso(user.marketing_withdrawn_at),
            },
        },
        "applications": [_application_export(item, data) for item in data.applications],
        "correction_requests": [
            {
                "about": c.get_subject_display(),
                "application": c.application.display_reference if c.application else None,
                "details": c.details,
                "status": c.get_status_display(),
                "asked_at": _iso(c.created_at),
                "answer_due": _iso(c.due_at),
                "answered_at": _iso(c.resolved_at),
                "answer": c.response,
            }
            for c in data.corrections
        ],
        **data.parts,
    }


def _parts_for_page(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The other apps' parts with their labels, for the printable page."""
    return [
        {
            "title": part.title,
            "rows": [(part.labels.get(key, key), value) for key, value in document.get(part.key, {}).items()],
        }
        for part in privacy_parts()
    ]


def _terms() -> dict[str, int]:
    return {
        "correction_days": settings.CORRECTION_WORKING_DAYS,
        "retention_years": settings.RETENTION_YEARS,
    }


@login_required
@customers_only
@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    """The page: what each right does, with its form. Queries: session, user, the customer's
    files (the correction form's choice), the correction requests, the open files (closing the
    account), the unread count in the header."""
    now = timezone.now()
    applications = list(
        LoanApplication.objects.filter(customer=request.user)
        .exclude(stage=Stage.DRAFT)
        .order_by("-created_at")
    )
    return render(
        request,
        "applications/privacy/page.html",
        {
            "form": CorrectionForm(applications=applications),
            "corrections": list(customer_corrections(user=request.user)),
            "open_count": open_files(user=request.user, now=now).count(),
            **_terms(),
        },
    )


@login_required
@customers_only
@require_GET
def privacy_export(request: HttpRequest) -> HttpResponse:
    """Download my data: ``?format=json`` a JSON file; otherwise a page written to be read and
    printed (or saved as a PDF from the browser's print dialog)."""
    now = timezone.now()
    document = export_document(customer_data(user=request.user), now=now)
    if request.GET.get("format") == "json":
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        stamp = timezone.localtime(now).strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="loan-portal-my-data-{stamp}.json"'
        response["Cache-Control"] = "private, no-store"
        return response
    response = render(
        request,
        "applications/privacy/export.html",
        {"data": document, "parts": _parts_for_page(document)},
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@customers_only
@require_POST
def privacy_correction(request: HttpRequest) -> HttpResponse:
    applications = list(
        LoanApplication.objects.filter(customer=request.user)
        .exclude(stage=Stage.DRAFT)
        .order_by("-created_at")
    )
    form = CorrectionForm(request.POST, applications=applications)
    if form.is_valid():
        try:
            correction = services.correction_request_create(
                customer=request.user,
                subject=form.cleaned_data["subject"],
                details=form.cleaned_data["details"],
                application=form.applications.get(form.cleaned_data["application"]),
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("We have your request. We will answer by %(due)s; its status is below.")
                % {"due": timezone.localtime(correction.due_at).strftime("%Y-%m-%d %H:%M")},
            )
            return redirect("applications:privacy")
    return render(
        request,
        "applications/privacy/page.html",
        {
            "form": form,
            "corrections": list(customer_corrections(user=request.user)),
            "open_count": open_files(user=request.user, now=timezone.now()).count(),
            **_terms(),
        },
        status=400,
    )


@login_required
@customers_only
@require_POST
def privacy_marketing(request: HttpRequest) -> HttpResponse:
    granted = request.POST.get("consent") == "give"
    user_marketing_consent_set(user=request.user, granted=granted)
    if granted:
        messages.success(
            request, _("Thank you: you agreed to receive offers and news. You can withdraw at any time.")
        )
    else:
        messages.success(request, _("Your consent is withdrawn: we will send you no offers or news."))
    return redirect("applications:privacy")


@login_required
@customers_only
@require_http_methods(["GET", "POST"])
def privacy_close(request: HttpRequest) -> HttpResponse:
    """GET says what closing does, or why it cannot be done now; POST closes and signs out."""
    now = timezone.now()
    still_open = list(open_files(user=request.user, now=now))
    if request.method == "POST" and not still_open:
        try:
            services.account_close(user=request.user, now=now)
        except services.AccountCloseRefused as exc:
            messages.error(request, str(exc))
            return redirect("applications:privacy_close")
        logout(request)
        messages.success(
            request, _("Your account is closed and you are signed out. Thank you for using Loan Portal.")
        )
        return redirect("applications:home")
    return render(
        request,
        "applications/privacy/close.html",
        {"still_open": still_open, **_terms()},
        status=409 if request.method == "POST" else 200,
    )
