"""The admin site of the back office: staff whose second factor is owed are refused, as django-otp's
``OTPAdminSite`` does, but signing in stays the site's own (password, then the second factor)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .services import second_factor_required


class BackOfficeAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        user = request.user
        return not second_factor_required(user) or user.is_verified()
