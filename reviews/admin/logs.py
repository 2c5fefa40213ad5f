"""The back office's records, read-only: who was assigned what, and who saw which identifier in full."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import Assignment, PiiAccessLog


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("application", "stage", "assignee", "assigned_by", "assigned_at", "released_at")
    list_filter = ("stage",)
    list_select_related = ("application", "assignee", "assigned_by")
    search_fields = ("=application__reference", "=assignee__username")


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ReadOnlyAdmin):
    list_display = ("viewed_at", "user", "application", "field")
    list_filter = ("field",)
    list_select_related = ("user", "application")
    search_fields = ("=application__reference", "=user__username")
    date_hierarchy = "viewed_at"
