"""Look up an application without an account: reference number, the mobile number on file, and a
one-time code texted to that number (``accounts.otp``): knowing someone's reference and number is
not enough to read their file.

The answer is the read-only timeline with masked personal data. Whether or not the reference and
number match, the next page is the same ("if they match, we have texted a code") and only a match
gets a code, so the form cannot be used to learn which references exist. The forms are POSTed
(nothing in the URL, the history or a proxy's log; the pair waits in the session, the number
encrypted), every lookup counts against two limits (per client address — the one the proxy saw,
``TRUSTED_PROXY_COUNT`` — and per reference, 5 a minute each), codes against theirs, and the
answer is never cached.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.code_forms import CodeForm
from accounts.code_views import forget, invalid_message, recall, remember, send_code
from accounts.otp.models import Purpose
from accounts.otp.services import CodeInvalid, code_verify
from common.pii import mask_name, mask_phone, validate_phone

from .. import ratelimit
from ..models import REFERENCE_LENGTH, normalise_reference
from ..selectors import application_for_tracking, application_timeline
from .timeline import timeline_context

ATTEMPTS_PER_MINUTE = 5
NOT_FOUND = gettext_lazy(
    "We could not find an application with this reference number and mobile number. Check both and try again."
)


class TrackForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Reference number"),
        max_length=30,
        help_text=gettext_lazy("As on your confirmation, for example ABCDE-FGHJK."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number on the application"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-control" + (" is-invalid" if name in self.errors else "")

    def clean_reference(self) -> str:
        # Canonical (``common.identifiers``): any case, with or without the dash, digits typed
        # full-width or Arabic-Indic; what remains must be ASCII, as every reference is.
        reference = normalise_reference(self.cleaned_data["reference"])
        if len(reference) != REFERENCE_LENGTH or not reference.isascii():
            raise ValidationError(
                _("A reference number has 10 letters and digits, for example ABCDE-FGHJK."),
                code="reference",
            )
        return reference

    def clean_phone(self) -> str:
        return validate_phone(self.cleaned_data["phone"])


def _within_limits(request: HttpRequest) -> bool:
    """Count this attempt against the address and the reference; both counters always move.

    The reference's counter is keyed by its canonical spelling, so typing it in full-width
    characters or lower case does not buy five more tries."""
    by_ip = ratelimit.hit("track-ip", ratelimit.client_ip(request), limit=ATTEMPTS_PER_MINUTE)
    reference = normalise_reference(request.POST.get("reference", ""))[: REFERENCE_LENGTH * 2]
    by_reference = (
        ratelimit.hit("track-reference", reference, limit=ATTEMPTS_PER_MINUTE) if reference else True
    )
    return by_ip and by_reference


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "applications/track.html",
        {
            "form": TrackForm(initial={"reference": request.POST.get("reference", "")}),
            "error": _("Too many attempts. Please wait a minute and try again."),
        },
        status=429,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Step 1: the reference and the number; a code to the number when they match an application."""
    if request.method == "GET":
        return render(request, "applications/track.html", {"form": TrackForm()})
    if not _within_limits(request):
        return _too_many(request)
    form = TrackForm(request.POST)
    if not form.is_valid():
        return render(request, "applications/track.html", {"form": form})
    reference, phone = form.cleaned_data["reference"], form.cleaned_data["phone"]
    application = application_for_tracking(reference=reference, phone=phone)
    error = send_code(
        request, purpose=Purpose.TRACK, phone=phone, context=reference, deliver=application is not None
    )
    if error:
        return render(request, "applications/track.html", {"form": form, "error": error})
    remember(request, "track", phone=phone, reference=reference)
    return redirect("applications:track_code")


@never_cache
@require_http_methods(["GET", "POST"])
def track_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code; right, the read-only timeline (once: another look needs another code)."""
    state = recall(request, "track")
    if state is None:
        return redirect("applications:track")
    phone, reference = state["phone"], state["reference"]
    if request.method == "POST" and "resend" in request.POST:
        if not _within_limits(request):
            return _too_many(request)
        application = application_for_tracking(reference=reference, phone=phone)
        error = send_code(
            request, purpose=Purpose.TRACK, phone=phone, context=reference, deliver=application is not None
        )
        return render(
            request,
            "applications/track_code.html",
            {"form": CodeForm(), "masked_phone": mask_phone(phone), "error": error, "resent": error is None},
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(purpose=Purpose.TRACK, phone=phone, code=form.cleaned_data["code"], context=reference)
        except CodeInvalid as invalid:
            form.add_error("code", invalid_message(invalid))
        else:
            application = application_for_tracking(reference=reference, phone=phone)
            forget(request, "track")
            if application is None:  # withdrawn into a draft state in the meantime: nothing to show
                return render(request, "applications/track.html", {"form": TrackForm(), "error": NOT_FOUND})
            timeline = application_timeline(application=application)
            context = timeline_context(timeline, read_only=True)
            context["masked_name"] = mask_name(application.applicant.full_name)
            return render(request, "applications/track_result.html", context)
    return render(request, "applications/track_code.html", {"form": form, "masked_phone": mask_phone(phone)})
