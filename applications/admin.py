"""The core's configuration in admin: stages, reasons, products, dealers, the blacklist. The
applications themselves (queue, page, staff actions) and their history, which staff see only for
the files in their scope, are in reviews/admin/."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from common.pii import keyed_hash, validate_id_number

from .models import (
    BlacklistEntry,
    CorrectionRequest,
    Dealer,
    DocumentType,
    LoanProduct,
    PartnerStepRequirement,
    Reason,
    StageDefinition,
)
from .working_calendar import CalendarDay, WorkingCalendar

# LoanApplication's admin (the work queue and the application page) and the history (StageEvent)
# live in reviews/admin/, beside the scope rule they share (reviews/permissions.py).
# Configuration admins are SimpleHistoryAdmin: each object's "History" page lists who changed what
# and when (django-simple-history; the middleware names the signed-in user).


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


@admin.register(PartnerStepRequirement)
class PartnerStepRequirementAdmin(SimpleHistoryAdmin):
    """Which partner steps each stage asks for when a file enters it, their limits in working hours,
    and whether the stage waits for them (``services.partner_steps``)."""

    list_display = ("stage", "kind", "partner_name", "limit_hours", "required", "is_active")
    list_filter = ("stage", "required", "is_active")
    list_editable = ("limit_hours", "required", "is_active")


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


# --- Customers' correction requests (PIPL): a task list with due times ---------------------------


class CorrectionDueFilter(admin.SimpleListFilter):
    title = _("answer due")
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin):
        return [("overdue", _("Overdue")), ("open", _("Open"))]

    def queryset(self, request: HttpRequest, queryset):
        from django.utils import timezone

        if self.value() == "overdue":
            return queryset.filter(status=CorrectionRequest.Status.OPEN, due_at__lt=timezone.now())
        if self.value() == "open":
            return queryset.filter(status=CorrectionRequest.Status.OPEN)
        return queryset


class CorrectionAnswerForm(forms.ModelForm):
    """Staff answer with a status and a text for the customer; the save goes through the service."""

    status = forms.ChoiceField(
        label=_("status"),
        choices=[
            (CorrectionRequest.Status.DONE, CorrectionRequest.Status.DONE.label),
            (CorrectionRequest.Status.REFUSED, CorrectionRequest.Status.REFUSED.label),
        ],
    )

    class Meta:
        model = CorrectionRequest
        fields = ["status", "response"]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("status") == CorrectionRequest.Status.REFUSED
            and not cleaned.get("response", "").strip()
        ):
            self.add_error("response", _("Tell the customer why the data was not corrected."))
        return cleaned


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(admin.ModelAdmin):
    """Open requests soonest due first; answering one (corrected, or not and why) goes through
    ``services.correction_request_answer``. The correction itself is made where the data lives
    (the application's applicant, the account) by whoever may change it."""

    list_display = ("subject", "customer_display", "application", "status", "created_at", "due_at", "overdue")
    list_select_related = ("customer", "application")
    list_filter = (CorrectionDueFilter, "status", "subject")
    search_fields = ("=application__reference",)
    ordering = ("status", "due_at")
    form = CorrectionAnswerForm
    readonly_fields = (
        "customer_display",
        "application",
        "subject",
        "details",
        "created_at",
        "due_at",
        "resolved_at",
        "resolved_by",
    )
    fields = (*readonly_fields[:6], "status", "response", "resolved_at", "resolved_by")

    @admin.display(description=_("customer"))
    def customer_display(self, obj: CorrectionRequest) -> str:
        # The account's masked number or name; the account's generated user name means nothing.
        user = obj.customer
        return user.get_full_name() or user.masked_phone or user.email or user.username

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj: CorrectionRequest) -> bool:
        from django.utils import timezone

        return obj.status == CorrectionRequest.Status.OPEN and obj.due_at < timezone.now()

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is not None and obj.status != CorrectionRequest.Status.OPEN:
            return (
                *self.readonly_fields[:6],
                "status_display",
                "response_display",
                "resolved_at",
                "resolved_by",
            )
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is not None and obj.status != CorrectionRequest.Status.OPEN:
            return (*self.readonly_fields, "status_display", "response_display")
        return self.readonly_fields

    @admin.display(description=_("status"))
    def status_display(self, obj: CorrectionRequest) -> str:
        return obj.get_status_display()

    @admin.display(description=_("answer to the customer"))
    def response_display(self, obj: CorrectionRequest) -> str:
        return obj.response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers ask on their privacy page

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CorrectionRequest, form, change: bool) -> None:
        from .services import correction_request_answer

        correction_request_answer(
            request=obj,
            actor=request.user,
            status=form.cleaned_data["status"],
            response=form.cleaned_data.get("response", ""),
        )
