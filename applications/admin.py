"""The back office's view of the core. Stage and history are read-only here: stage changes go
through the services (transition buttons arrive with the work queues)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import (
    Applicant,
    BlacklistEntry,
    Dealer,
    Document,
    DocumentType,
    LoanApplication,
    LoanProduct,
    Reason,
    StageDefinition,
    StageEvent,
)
from .pii import keyed_hash, validate_id_number
from .working_calendar import CalendarDay, WorkingCalendar


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StageEventInline(ReadOnlyInline):
    model = StageEvent
    fields = (
        "sequence",
        "created_at",
        "kind",
        "transition",
        "from_stage",
        "to_stage",
        "actor",
        "reason_code",
        "note",
    )
    readonly_fields = fields
    ordering = ("sequence",)
    verbose_name_plural = _("history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageEvent]:
        return super().get_queryset(request).select_related("actor")


class ApplicantInline(admin.StackedInline):
    model = Applicant
    can_delete = False
    fields = ("full_name", "masked_id_number", "birth_date", "masked_phone", "employment", "employer")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("ID card number"))
    def masked_id_number(self, obj: Applicant) -> str:
        return obj.masked_id_number

    @admin.display(description=_("mobile number"))
    def masked_phone(self, obj: Applicant) -> str:
        return obj.masked_phone


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("document_type", "status", "rejection_reason", "uploaded_at", "size")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("document_type", "rejection_reason")


@admin.register(LoanApplication)
class LoanApplicationAdmin(admin.ModelAdmin):
    list_display = (
        "display_reference",
        "stage",
        "dealer",
        "product",
        "requested_amount",
        "stage_entered_at",
        "stage_due_at",
    )
    list_filter = ("stage", "dealer", "product", "powertrain")
    list_select_related = ("dealer", "product")
    search_fields = ("=reference",)
    ordering = ("stage_due_at",)
    show_full_result_count = False  # one COUNT(*) per page is enough on a large book
    readonly_fields = (
        "reference",
        "stage",
        "customer",
        "created_by",
        "reviewed_by",
        "approved_by",
        "disbursed_by",
        "stage_entered_at",
        "stage_due_at",
        "submitted_at",
        "closed_at",
        "closing_reason",
        "approved_amount",
        "approved_rate",
        "approved_term_months",
        "event_count",
        "history_head",
    )
    fieldsets = (
        (
            None,
            {"fields": ("reference", "stage", "stage_entered_at", "stage_due_at", "customer", "created_by")},
        ),
        (
            _("Vehicle and dealer"),
            {"fields": ("dealer", "vehicle_make", "vehicle_model", "vehicle_price", "powertrain")},
        ),
        (_("Loan requested"), {"fields": ("product", "down_payment", "requested_amount", "term_months")}),
        (
            _("Decision"),
            {
                "fields": (
                    "reviewed_by",
                    "approved_by",
                    "approved_amount",
                    "approved_rate",
                    "approved_term_months",
                    "disbursed_by",
                    "closing_reason",
                    "submitted_at",
                    "closed_at",
                )
            },
        ),
        (_("History chain"), {"fields": ("event_count", "history_head"), "classes": ("collapse",)}),
    )
    inlines = (ApplicantInline, DocumentInline, StageEventInline)

    @admin.display(description=_("reference"), ordering="reference")
    def display_reference(self, obj: LoanApplication) -> str:
        return obj.display_reference

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applications start on the customer or dealer site

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the history must stay whole


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
class StageDefinitionAdmin(admin.ModelAdmin):
    list_display = ("stage", "sla", "owner_role", "title_zh_hans", "title_en")
    filter_horizontal = ("required_document_types",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one per stage, created by migration

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "text_zh_hans", "text_en", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "text_zh_hans", "text_en")


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh_hans", "name_en")


@admin.register(LoanProduct)
class LoanProductAdmin(admin.ModelAdmin):
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
class DealerAdmin(admin.ModelAdmin):
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
class BlacklistEntryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at")
    form = BlacklistEntryForm

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "day_start", "day_end")


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Public holidays on weekdays (not working) and 调休 make-up weekend days (working)."""

    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    date_hierarchy = "date"
    search_fields = ("note",)
