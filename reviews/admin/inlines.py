"""The application page's inlines: the applicant (with "show in full" for the masked identifiers),
the documents (with their accept and reject buttons) and the history.

They are read-only; their buttons belong to forms outside the admin's own form, whose ids are here
so the page's template and the inlines name the same form.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from applications.choices import EventKind, PartnerStepKind, PartnerStepStatus, ReasonKind, RepaymentMethod
from applications.models import Applicant, Document, DocumentType, LoanApplication, Reason, StageEvent
from common.money import yuan
from common.pii import mask_name

from .. import services
from ..choices import AssignmentAction, PiiField
from ..transitions import ACTION_LABELS

DOCUMENTS_FORM_ID = "lp-documents"
DOCUMENT_ACTIONS = {
    "uploaded": pgettext_lazy("document", "Uploaded"),
    "accepted": pgettext_lazy("document", "Accepted"),
    "rejected": pgettext_lazy("document", "Rejected"),
}
PII_FORM_ID = "lp-pii"


def person_label(application: LoanApplication, user: User | None) -> str:
    """How the back office names a person of a file. Staff by their user name; the customer by the
    applicant's name, masked (王**), never their account's generated user name (cust_ab12cd), and
    "the customer" before a name is given. ``application.applicant`` should be select_related."""
    if user is None:
        return "—"
    if user.pk != application.customer_id:
        return user.get_username()
    applicant = getattr(application, "applicant", None)  # a draft may not have one yet
    return (mask_name(applicant.full_name) if applicant is not None else "") or gettext("the customer")


class BackOfficeInline:
    """An inline that knows the request and the page's application: the admin makes new inline
    instances for each request and hands them both here, so a row costs no query of its own."""

    request: HttpRequest | None = None
    application: LoanApplication | None = None
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ApplicantInline(BackOfficeInline, admin.StackedInline):
    model = Applicant
    fields = (
        "full_name",
        "id_number_display",
        "birth_date",
        "phone_display",
        "employment",
        "employer",
        "monthly_income_display",
        "monthly_debt_display",
        "debt_to_income",
    )
    readonly_fields = fields

    def _show_in_full(self, obj: Applicant, field: str, masked: str):
        if self.request is None or not self.request.user.has_perm(services.PII_PERMISSION):
            return masked
        return format_html(
            '{} <button type="submit" class="button lp-reveal" form="{}" name="field" value="{}">{}</button>',
            masked,
            PII_FORM_ID,
            field,
            gettext("Show in full"),
        )

    @admin.display(description=_("ID card number"))
    def id_number_display(self, obj: Applicant):
        return self._show_in_full(obj, PiiField.ID_NUMBER, obj.masked_id_number)

    @admin.display(description=_("mobile number"))
    def phone_display(self, obj: Applicant):
        return self._show_in_full(obj, PiiField.PHONE, obj.masked_phone)

    @admin.display(description=_("monthly income"))
    def monthly_income_display(self, obj: Applicant) -> str:
        return yuan(obj.monthly_income, empty="—")

    @admin.display(description=_("existing monthly debt payments"))
    def monthly_debt_display(self, obj: Applicant) -> str:
        return yuan(obj.monthly_debt, empty="—")

    @admin.display(description=_("debt to income"))
    def debt_to_income(self, obj: Applicant) -> str:
        if not obj.monthly_income:
            return "—"
        return f"{obj.monthly_debt / obj.monthly_income * 100:.1f} %"


class DocumentInline(BackOfficeInline, admin.TabularInline):
    model = Document
    fields = ("document_type", "status", "rejection_reason", "uploaded_at", "size", "open_link", "verdict")
    readonly_fields = fields
    ordering = ("uploaded_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return (
            super().get_queryset(request).select_related("application", "document_type", "rejection_reason")
        )

    @admin.display(description=_("file"))
    def open_link(self, obj: Document):
        # The back office's own document view: scoped and logged (``admin/documents.py``).
        url = reverse(
            "admin:applications_loanapplication_document_file", args=[obj.application_id, obj.public_id]
        )
        return format_html('<a href="{}">{}</a>', url, gettext("Open"))

    def _held_by_another(self) -> bool:
        """Held by a colleague: staff claim a file before acting on it, documents included (the
        service refuses too). The page's application carries its open assignment (prefetched)."""
        user = self.request.user if self.request is not None else None
        assignments = getattr(self.application, "open_assignments", None)
        if user is None or not assignments or user.has_perm(services.MANAGE_PERMISSION):
            return False
        return assignments[0].assignee_id != user.pk

    def _problem_options(self) -> list[Reason]:
        if not hasattr(self, "_problems"):
            self._problems = list(Reason.objects.filter(kind=ReasonKind.DOCUMENT, is_active=True))
        return self._problems

    @admin.display(description=_("check"))
    def verdict(self, obj: Document):
        if obj.status != "pending" or self.request is None:
            return ""
        if not self.request.user.has_perm("applications.change_document") or self._held_by_another():
            return ""
        options = format_html_join(
            "",
            '<option value="{}">{}</option>',
            ((r.pk, r.localized("text")) for r in self._problem_options()),
        )
        return format_html(
            '<button type="submit" class="button lp-accept" form="{form}" name="accept" value="{doc}" '
            "formnovalidate>{accept}</button> "
            '<label class="lp-visually-hidden" for="lp-reason-{doc}">{problem}</label>'
            '<select id="lp-reason-{doc}" name="reason-{doc}" form="{form}" required>'
            '<option value="">{choose}</option>{options}</select> '
            '<button type="submit" class="button lp-reject" form="{form}" name="reject" value="{doc}">'
            "{reject}</button>",
            form=DOCUMENTS_FORM_ID,
            doc=obj.public_id,
            accept=pgettext("document", "Accept"),
            problem=gettext("Problem"),
            choose=gettext("Choose the problem…"),
            options=options,
            reject=pgettext("document", "Reject"),
        )


class StageEventInline(BackOfficeInline, admin.TabularInline):
    model = StageEvent
    fields = (
        "sequence",
        "created_at",
        "kind",
        "action",
        "stage_change",
        "actor_name",
        "reason_code",
        "details",
        "note",
    )
    readonly_fields = fields
    ordering = ("sequence",)
    verbose_name_plural = _("history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageEvent]:
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("action"))
    def action(self, obj: StageEvent) -> str:
        return str(ACTION_LABELS.get(obj.transition, obj.transition)) or "—"

    def _document_type_name(self, code: str) -> str:
        # One query for the page's whole history, only when it names a document type.
        if not hasattr(self, "_type_names"):
            self._type_names = {t.code: str(t) for t in DocumentType.objects.all()}
        return self._type_names.get(code, code)

    @admin.display(description=_("by"))
    def actor_name(self, obj: StageEvent) -> str:
        if not obj.actor_id:
            return gettext("system")
        return person_label(self.application or obj.application, obj.actor)

    @admin.display(description=_("stage"))
    def stage_change(self, obj: StageEvent) -> str:
        if obj.from_stage == obj.to_stage or not obj.from_stage:
            return obj.get_to_stage_display()
        return f"{obj.get_from_stage_display()} → {obj.get_to_stage_display()}"

    @admin.display(description=_("details"))
    def details(self, obj: StageEvent) -> str:
        data = obj.data or {}
        if obj.kind == EventKind.ASSIGNMENT:
            action = (
                AssignmentAction(data["action"]).label
                if data.get("action") in AssignmentAction.values
                else ""
            )
            if data.get("assignee_name") and data.get("previous_name"):  # taken from a colleague
                return gettext("%(action)s: %(name)s (from %(previous)s)") % {
                    "action": action,
                    "name": data["assignee_name"],
                    "previous": data["previous_name"],
                }
            if data.get("assignee_name"):
                return gettext("%(action)s: %(name)s") % {"action": action, "name": data["assignee_name"]}
            return str(action)
        if obj.kind == EventKind.DOCUMENT:
            action = DOCUMENT_ACTIONS.get(data.get("action"), data.get("action", ""))
            name = self._document_type_name(data.get("type", ""))
            return gettext("%(action)s: %(name)s") % {"action": action, "name": name}
        if obj.kind == EventKind.PARTNER:  # a partner's step: which, and its new status
            kind, status = data.get("kind", ""), data.get("status", "")
            return gettext("%(step)s: %(status)s") % {
                "step": PartnerStepKind(kind).label if kind in PartnerStepKind.values else kind,
                "status": PartnerStepStatus(status).label if status in PartnerStepStatus.values else status,
            }
        if data.get("documents"):
            return ", ".join(self._document_type_name(code) for code in data["documents"])
        if data.get("repayment_method") in RepaymentMethod.values:  # the offer accepted
            return str(RepaymentMethod(data["repayment_method"]).label)
        if data.get("amount") and data.get("rate") and data.get("term_months"):  # the offer
            months = data["term_months"]
            return " · ".join(
                (
                    yuan(Decimal(data["amount"])),
                    f"{Decimal(data['rate']) * 100:.2f} %",
                    ngettext("%(months)s month", "%(months)s months", months) % {"months": months},
                )
            )
        return ""
