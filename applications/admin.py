"""The core's configuration in admin: stages, reasons, products, dealers, the blacklist and the
read-only history. The applications themselves (queue, page, staff actions) are in reviews/admin/."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from common.pii import keyed_hash, validate_id_number

from .models import (
    BlacklistEntry,
    Dealer,
    DocumentType,
    LoanProduct,
    Reason,
    StageDefinition,
    StageEvent,
)
from .working_calendar import CalendarDay, WorkingCalendar

# LoanApplication's admin (the work queue and the application page) lives in reviews/admin/.
# Configuration admins are SimpleHistoryAdmin: each object's "History" page lists who changed what
# and when (django-simple-history; the middleware names the signed-in user).


@admin.register(StageEvent)
class StageEventAdmin(admin.ModelAdmin):
    list_display = ("application", "sequence", "created_at", "transition", "from_stage", "to_stage", "actor")
    list_select_related = ("application", "actor")
    list_filter = ("kind", "to_stage")
    search_fields = ("=application__reference",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(StageDefinition)
class StageDefinitionAdmin(SimpleHistoryAdmin):
    list_display = (
        "stage",
        "sla",
        "owner_role",
        "expires_at_deadline",
        "expires_when_untouched",
        "last_reminder_before",
        "title_zh_hans",
        "title_en",
    )
    filter_horizontal = ("required_document_types",)
    fieldsets = (
        (None, {"fields": ("stage", "sla", "owner_role", "required_document_types")}),
        (
            _("What the customer reads"),
            {
                "fields": (
                    "title_zh_hans",
                    "title_en",
                    "explanation_zh_hans",
                    "explanation_en",
                    "customer_action_zh_hans",
                    "customer_action_en",
                )
            },
        ),
        (
            _("Expiry"),
            {
                "fields": ("expires_at_deadline", "expires_when_untouched", "last_reminder_before"),
                "description": _(
                    "Durations read as days, then hours: “30 00:00:00” is 30 days. A change applies "
                    "to every waiting file from the next expiry pass, a few minutes later; a new time "
                    "limit applies to stays that begin after it."
                ),
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one per stage, created by migration

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Reason)
class ReasonAdmin(SimpleHistoryAdmin):
    list_display = ("code", "kind", "text_zh_hans", "text_en", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "text_zh_hans", "text_en")


@admin.register(DocumentType)
class DocumentTypeAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh_hans", "name_en")


@admin.register(LoanProduct)
class LoanProductAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name_zh_hans",
        "min_rate",
        "max_rate",
        "min_down_payment_ratio",
        "new_energy_only",
        "is_active",
    )


@admin.register(Dealer)
class DealerAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "region")
    filter_horizontal = ("staff",)


class BlacklistEntryForm(forms.ModelForm):
    """Takes the ID number in the clear and keeps only its keyed hash."""

    id_number = forms.CharField(label=_("ID card number"), max_length=18)

    class Meta:
        model = BlacklistEntry
        fields = ("note",)

    def clean_id_number(self) -> str:
        return validate_id_number(self.cleaned_data["id_number"])

    def save(self, commit: bool = True) -> BlacklistEntry:
        self.instance.id_number_hash = keyed_hash(self.cleaned_data["id_number"])
        return super().save(commit)


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "created_at")
    form = BlacklistEntryForm

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(SimpleHistoryAdmin):
    list_display = ("name", "time_zone", "day_start", "day_end")


@admin.register(CalendarDay)
class CalendarDayAdmin(SimpleHistoryAdmin):
    """Public holidays on weekdays (not working) and 调休 make-up weekend days (working)."""

    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    date_hierarchy = "date"
    search_fields = ("note",)
