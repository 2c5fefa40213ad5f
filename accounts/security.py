"""The account's security page: how long sessions last, and "sign out everywhere"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .sessions import limits_for, user_sign_out_everywhere


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    limits = limits_for(request.user)
    context = {"idle_minutes": limits.idle // 60, "absolute_hours": limits.absolute // 3600}
    return render(request, "accounts/security.html", context)


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Every session of the account ends, this one too: a phone left signed in somewhere is out."""
    user_sign_out_everywhere(user=request.user, actor=request.user)
    logout(request)
    messages.success(request, _("You have been signed out on every device. Please sign in again."))
    return redirect("accounts:login")
