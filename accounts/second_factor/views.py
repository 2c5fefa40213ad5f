"""The second factor's pages: enrol an authenticator app, then a code at every sign-in."""

from __future__ import annotations

from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from .forms import CodeForm, EnrolForm
from .services import (
    confirmed_totp_device,
    second_factor_enrol,
    second_factor_required,
    second_factor_verify,
    second_factor_waiting,
    totp_device_for_enrolment,
)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _verified(request: HttpRequest, device) -> None:
    # A session gaining a privilege gets a new key (no fixation), then holds the device.
    request.session.cycle_key()
    django_otp.login(request, device)


@sensitive_post_parameters("code")
@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not second_factor_required(user) or user.is_verified():
        return redirect(_next_url(request))
    if confirmed_totp_device(user) is None:
        return redirect(f"{reverse('accounts:second_factor_enrol')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            _verified(request, device)
            return redirect(_next_url(request))
        if second_factor_waiting(user=user):
            form.add_error("code", _("Too many wrong codes. Please wait a minute, then try again."))
        else:
            form.add_error(
                "code",
                _("That code is not right. Use the code the app shows now, or an unused recovery code."),
            )
    return render(request, "accounts/second_factor_verify.html", {"form": form, "next": _next_url(request)})


def _qr_svg(url: str) -> str:
    # segno draws the QR code as SVG paths on the server: no script, no image from elsewhere.
    svg = segno.make(url, error="m").svg_inline(scale=5, svgclass="lp-qr", lineclass="lp-qr-line")
    label = escape(_("QR code for your authenticator app"))
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S308 (ours)


@sensitive_post_parameters("code")
@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not second_factor_required(user) or user.is_verified():
        return redirect(_next_url(request))
    if confirmed_totp_device(user) is not None:
        # Enrolled already: a new app only after a manager's reset, never by whoever has a session.
        return redirect(f"{reverse('accounts:second_factor')}?{request.GET.urlencode()}")
    device = totp_device_for_enrolment(user=user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = second_factor_enrol(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            _verified(request, device)
            # Shown this once, in the answer to the POST: never stored where it could be shown again.
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error(
            "code",
            _("That code is not right. Check the app shows Loan Portal and try the code it shows now."),
        )
    key = device.key  # hex; apps want base32, in groups of four for typing
    secret = b32encode(bytes.fromhex(key)).decode().rstrip("=")
    context = {
        "form": form,
        "next": _next_url(request),
        "qr": _qr_svg(device.config_url),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, "accounts/second_factor_enrol.html", context)
