"""The back office's records, read-only: who was assigned what, who saw which identifier in full and
who opened which document."""

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
    """Managers' view (``view_piiaccesslog``): who saw an identifier in full or opened a document."""

    list_display = ("viewed_at", "user", "application", "field", "document")
    list_filter = ("field",)
    list_select_related = ("user", "application", "document__document_type")
    search_fields = ("=application__reference", "=user__username")
    date_hierarchy = "viewed_at"
