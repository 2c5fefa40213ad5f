"""Staff who still owe their second factor reach nothing but the pages that take it."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .services import second_factor_required


class StaffSecondFactorMiddleware:
    """After django-otp's ``OTPMiddleware`` (which tells whether the session is verified).

    A signed-in staff member whose session has not passed the second factor is sent to it, with
    the page they asked for as ``next``; they may still sign out and change the language. Costs
    nothing for visitors and customers beyond the user the page loads anyway."""

    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def _open_paths(self) -> frozenset[str]:
        # URLs are fixed at start-up; no language prefix.
        names = ["accounts:second_factor", "accounts:second_factor_enrol", "accounts:logout", "admin:logout"]
        return frozenset([*(reverse(name) for name in names), reverse("set_language")])

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.get(SESSION_KEY) is not None and request.path_info not in self._open_paths:
            user = request.user
            if second_factor_required(user) and not user.is_verified():
                return redirect_to_login(request.get_full_path(), "accounts:second_factor")
        return self.get_response(request)
