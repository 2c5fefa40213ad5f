"""Managers look after their colleagues' sign-in: reset a lost second factor, end every session.

Both are admin actions on the staff list (``StaffMember``, a proxy of the account) that call the
accounts services, which log who did it to whom and when (``SecurityEvent``, listed read-only
below and in each action's message)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import SecurityEvent
from accounts.second_factor.services import second_factor_reset
from accounts.sessions import user_sign_out_everywhere

from ..models import StaffMember
from ..selectors import sees_every_stage
from .logs import ReadOnlyAdmin


def _is_manager(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and sees_every_stage(request.user)


class ManagersOnly(ReadOnlyAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_manager(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_manager(request)


@admin.register(StaffMember)
class StaffMemberAdmin(ManagersOnly):
    list_display = ("username", "full_name", "second_factor", "last_login")
    search_fields = ("=username", "last_name", "first_name")
    fields = ("username", "first_name", "last_name", "last_login")
    actions = ("reset_second_factor", "sign_out")
    ordering = ("username",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffMember]:
        # One query with the list: whether each has a confirmed authenticator app.
        return (
            super()
            .get_queryset(request)
            .filter(is_staff=True)
            .annotate(totp_count=Count("totpdevice", filter=Q(totpdevice__confirmed=True)))
        )

    @admin.display(description=_("name"))
    def full_name(self, obj: StaffMember) -> str:
        return obj.get_full_name()

    @admin.display(description=_("authenticator app"), boolean=True)
    def second_factor(self, obj: StaffMember) -> bool:
        return bool(obj.totp_count)

    def has_reset_second_factor_permission(self, request: HttpRequest) -> bool:
        return _is_manager(request)

    has_sign_out_permission = has_reset_second_factor_permission

    @admin.action(
        description=_("Reset second factor (they set up their app again at next sign-in)"),
        permissions=["reset_second_factor"],
    )
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[StaffMember]) -> None:
        done = 0
        for colleague in queryset:
            second_factor_reset(user=colleague, actor=request.user)
            done += 1
        self.message_user(
            request,
            ngettext(
                "Second factor reset and signed out for %(count)d staff member.",
                "Second factor reset and signed out for %(count)d staff members.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )

    @admin.action(description=_("Sign out this staff member on every device"), permissions=["sign_out"])
    def sign_out(self, request: HttpRequest, queryset: QuerySet[StaffMember]) -> None:
        done = 0
        for colleague in queryset:
            user_sign_out_everywhere(user=colleague, actor=request.user)
            done += 1
        self.message_user(
            request,
            ngettext(
                "Signed out %(count)d staff member on every device.",
                "Signed out %(count)d staff members on every device.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(SecurityEvent)
class SecurityEventAdmin(ManagersOnly):
    list_display = ("at", "kind", "user", "actor")
    list_filter = ("kind",)
    list_select_related = ("user", "actor")
    search_fields = ("=user__username", "=actor__username")
    date_hierarchy = "at"
