"""Notifications in admin, and the SLA sweep's health on the admin index (for managers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Notification, SweepRun

# The index shows a warning when the SLA sweep is older than three intervals (a stopped beat).
admin.site.index_template = "notifications/admin_index.html"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient", "application", "read_at")
    list_filter = ("kind",)
    list_select_related = ("recipient", "application")
    readonly_fields = ("recipient", "application", "kind", "context", "dedupe_key", "created_at", "read_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SweepRun)
class SweepRunAdmin(admin.ModelAdmin):
    list_display = ("name", "finished_at", "duration_ms", "counts")
    readonly_fields = ("name", "finished_at", "duration_ms", "counts")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
