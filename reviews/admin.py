"""The back office in Django admin: the work queue, the application page and its staff actions.

Every write here calls a service: transitions (``applications.services``, through
``transitions.STAFF_TRANSITIONS``), document verdicts, assignments and unmasking (``reviews.services``).
The page itself is read-only for everyone, superusers included: no field of an application is
edited in a form.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from applications import services as core
from applications.choices import STAFF_ROLES, EventKind, ReasonKind, Stage
from applications.models import Applicant, Document, DocumentType, LoanApplication, Reason, StageEvent

from . import selectors, services
from .choices import AssignmentAction, PiiField, Queue, SlaState
from .forms import AssignmentRuleForm, DocumentVerdictForm, ReassignForm, TransitionForm
from .models import Assignment, AssignmentRule, PiiAccessLog
from .transitions import ACTION_LABELS, STAFF_TRANSITIONS, staff_transitions_for

DOCUMENTS_FORM_ID = "lp-documents"
DOCUMENT_ACTIONS = {
    "uploaded": pgettext_lazy("document", "Uploaded"),
    "accepted": pgettext_lazy("document", "Accepted"),
    "rejected": pgettext_lazy("document", "Rejected"),
}
PII_FORM_ID = "lp-pii"
LIKELY_TO_BREACH_LABEL = _("Likely to breach")


def yuan(amount) -> str:
    """¥140,000.00: to the fen with thousands separators, the same in both languages."""
    return "—" if amount is None else f"¥{amount:,.2f}"


def mask_name(name: str) -> str:
    """张*, 欧阳**: the family name's first character and a star for each other one."""
    name = (name or "").strip()
    return f"{name[0]}{'*' * (len(name) - 1)}" if name else ""


def _back_url(request: HttpRequest, application: LoanApplication) -> str:
    """The application's page while the user still works its stage, else their queue."""
    if application.stage in selectors.visible_stages(request.user):
        return reverse("admin:applications_loanapplication_change", args=[application.pk])
    return reverse("admin:applications_loanapplication_changelist")


# --- Queue filters ------------------------------------------------------------------------------


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return Queue.choices

    def queryset(self, request, queryset):
        if self.value():
            return selectors.filter_queue(queryset, queue=self.value(), user=request.user)
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = _("SLA state")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [*SlaState.choices, (selectors.LIKELY_TO_BREACH, LIKELY_TO_BREACH_LABEL)]

    def queryset(self, request, queryset):
        if self.value():
            return selectors.filter_sla(queryset, state=self.value(), now=timezone.now())
        return queryset


class StageFilter(admin.SimpleListFilter):
    """Only the stages this user works."""

    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        visible = selectors.visible_stages(request.user)
        return [(value, label) for value, label in Stage.choices if value in visible]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(stage=self.value())
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"
    NOBODY = "none"

    def lookups(self, request, model_admin):
        return [(self.NOBODY, _("Nobody")), *selectors.assignee_choices()]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NOBODY:
            return selectors.filter_assignee(queryset, assignee_id=None)
        if value and value.isdigit():
            return selectors.filter_assignee(queryset, assignee_id=int(value))
        return queryset


# --- Inlines (read-only; their buttons belong to forms outside the admin's own form) -------------


class BackOfficeInline:
    """An inline that knows the request: the admin makes new inline instances for each request
    and hands them the request here, so a row's buttons cost no query of their own."""

    request: HttpRequest | None = None
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
        return yuan(obj.monthly_income)

    @admin.display(description=_("existing monthly debt payments"))
    def monthly_debt_display(self, obj: Applicant) -> str:
        return yuan(obj.monthly_debt)

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
        url = reverse(
            "applications:document_download",
            kwargs={"reference": obj.application.reference, "public_id": obj.public_id},
        )
        return format_html('<a href="{}">{}</a>', url, gettext("Open"))

    def _problem_options(self) -> list[Reason]:
        if not hasattr(self, "_problems"):
            self._problems = list(Reason.objects.filter(kind=ReasonKind.DOCUMENT, is_active=True))
        return self._problems

    @admin.display(description=_("check"))
    def verdict(self, obj: Document):
        if obj.status != "pending" or self.request is None:
            return ""
        if not self.request.user.has_perm("applications.change_document"):
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
        return obj.actor.get_username() if obj.actor_id else gettext("system")

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
            if data.get("assignee_name"):
                return gettext("%(action)s: %(name)s") % {"action": action, "name": data["assignee_name"]}
            return str(action)
        if obj.kind == EventKind.DOCUMENT:
            action = DOCUMENT_ACTIONS.get(data.get("action"), data.get("action", ""))
            name = self._document_type_name(data.get("type", ""))
            return gettext("%(action)s: %(name)s") % {"action": action, "name": name}
        if data.get("documents"):
            return ", ".join(self._document_type_name(code) for code in data["documents"])
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


# --- The application admin: queue and page ------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts up to ``cap`` rows and no further. A queue longer than that is worked through its
    filters, not its page numbers, and an exact count of a few hundred thousand files costs a scan
    of them on every page (170 ms on a million applications); a count that stops at ``cap`` costs
    the same whatever the book's size. The page says "more than 10,000" (``count_is_capped``),
    and selecting across pages is not offered then."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        # Unordered and slimmed: the order does not change how many rows there are.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def count_is_capped(self) -> bool:
        return self.count > self.cap


class WorkQueueChangeList(ChangeList):
    """The queue's rows carry the delay prediction's verdict (``likely_to_breach``), computed in the
    page's own query after the filters: no query per row, and none at all for the prediction's
    figures while they are cached."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return selectors.with_breach_prediction(queryset, now=timezone.now())

    def get_results(self, request):
        super().get_results(request)
        if self.paginator.count_is_capped:
            # The search bar prints "N results" whenever the count differs from the full one: past
            # the cap N would be the cap plus one. It says nothing then; the pages line says "more
            # than 10,000".
            self.full_result_count = self.result_count


@admin.register(LoanApplication)
class LoanApplicationAdmin(admin.ModelAdmin):
    change_list_template = "admin/reviews/loanapplication/change_list.html"
    change_form_template = "admin/reviews/loanapplication/change_form.html"
    list_display = (
        "display_reference",
        "applicant_masked",
        "dealer",
        "product",
        "amount",
        "stage_label",
        "assignee",
        "sla_badge",
    )
    list_display_links = ("display_reference",)
    list_filter = (QueueFilter, SlaFilter, StageFilter, "dealer", "product", AssigneeFilter)
    search_fields = ("reference",)  # shows the box; get_search_results does the matching
    search_help_text = _("A reference (ABCDE-23456) or the applicant's full mobile number.")
    list_per_page = 100
    paginator = CappedCountPaginator
    show_full_result_count = False  # one COUNT(*) per page is enough on a large book
    actions = ("claim_selected", "reassign_selected")
    inlines = (ApplicantInline, DocumentInline, StageEventInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "display_reference",
                    "stage_label",
                    "stage_entered_at",
                    "stage_due_at",
                    "customer_name",
                    "created_by_name",
                )
            },
        ),
        (
            _("Vehicle and dealer"),
            {"fields": ("dealer", "vehicle_make", "vehicle_model", "vehicle_price_display", "powertrain")},
        ),
        (
            _("Loan requested"),
            {"fields": ("product", "down_payment_display", "amount", "term_months")},
        ),
        (
            _("Decision"),
            {
                "fields": (
                    "reviewed_by_name",
                    "approved_by_name",
                    "approved_amount_display",
                    "approved_rate_display",
                    "approved_term_months",
                    "disbursed_by_name",
                    "closing_reason",
                    "submitted_at",
                    "closed_at",
                )
            },
        ),
        (_("History chain"), {"fields": ("event_count", "history_head"), "classes": ("collapse",)}),
    )

    # --- who may do what ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[LoanApplication]:
        return selectors.work_queue(user=request.user)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return WorkQueueChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        """The page's application with every person it names, one query (the queue needs fewer)."""
        queryset = self.get_queryset(request).select_related(
            "customer", "created_by", "reviewed_by", "approved_by", "disbursed_by", "delay_reason"
        )
        try:
            return queryset.get(pk=LoanApplication._meta.pk.to_python(object_id))
        except (LoanApplication.DoesNotExist, ValidationError, ValueError):
            return None

    def get_ordering(self, request: HttpRequest):
        # Soonest due first; stages without a time limit (closed files) last.
        return [F("stage_due_at").asc(nulls_last=True), "-pk"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applications start on the customer or dealer site

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # stage changes only through the buttons, which call the services

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the history must stay whole

    def has_claim_permission(self, request: HttpRequest) -> bool:
        return bool(selectors.user_roles(request.user) & STAFF_ROLES) or request.user.is_superuser

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.MANAGE_PERMISSION)

    def get_inline_instances(self, request: HttpRequest, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            inline.request = request
        return inlines

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return selectors.search_queue(queryset, search_term), False

    # --- columns ---

    def action_checkbox(self, obj: LoanApplication):
        # The same checkbox as admin's, written directly: rendering a widget template for each of
        # a hundred rows was a sizeable share of the queue's time.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            admin.helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), obj.display_reference),
        )

    @admin.display(description=_("reference"), ordering="reference")
    def display_reference(self, obj: LoanApplication) -> str:
        return obj.display_reference

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj: LoanApplication) -> str:
        applicant = getattr(obj, "applicant", None)
        if applicant is None:
            return "—"
        return f"{mask_name(applicant.full_name)} · {applicant.masked_phone}"

    @admin.display(description=_("amount"), ordering="requested_amount")
    def amount(self, obj: LoanApplication) -> str:
        return yuan(obj.requested_amount)

    @admin.display(description=_("stage"), ordering="stage")
    def stage_label(self, obj: LoanApplication) -> str:
        # Stage(...).label, not get_stage_display(): that one rebuilds a dict of every choice for
        # each row, a tenth of the queue's time.
        return str(Stage(obj.stage).label)

    @admin.display(description=_("assignee"))
    def assignee(self, obj: LoanApplication):
        if obj.open_assignments:
            return obj.open_assignments[0].assignee.get_username()
        return format_html('<span class="lp-muted">{}</span>', gettext("Unassigned"))

    @admin.display(description=_("SLA"), ordering=F("stage_due_at").asc(nulls_last=True))
    def sla_badge(self, obj: LoanApplication):
        """The state, coloured, with "likely to breach" when the prediction says so, over the time
        left or overdue."""
        sla = selectors.sla_of(obj, now=timezone.now())
        if sla is None:
            return "—"
        likely = ""
        if sla.likely_to_breach:
            likely = format_html(
                ' <span class="lp-likely" title="{}">{}</span>',
                gettext(
                    "More than one in five recent files in this stage and product took longer than this one has."
                ),
                LIKELY_TO_BREACH_LABEL,
            )
        return format_html(
            '<span class="lp-sla lp-sla-{}">{}</span>{}<br><span class="lp-time-left">{}</span>',
            sla.state,
            sla.state.label,
            likely,
            sla.text,
        )

    # --- the page's fields, in words and money rather than raw values ---

    @admin.display(description=_("customer account"))
    def customer_name(self, obj: LoanApplication) -> str:
        return obj.customer.get_username() if obj.customer_id else "—"

    @admin.display(description=_("created by"))
    def created_by_name(self, obj: LoanApplication) -> str:
        return obj.created_by.get_username()

    @admin.display(description=_("reviewed by"))
    def reviewed_by_name(self, obj: LoanApplication) -> str:
        return obj.reviewed_by.get_username() if obj.reviewed_by_id else "—"

    @admin.display(description=_("approved by"))
    def approved_by_name(self, obj: LoanApplication) -> str:
        return obj.approved_by.get_username() if obj.approved_by_id else "—"

    @admin.display(description=_("disbursed by"))
    def disbursed_by_name(self, obj: LoanApplication) -> str:
        return obj.disbursed_by.get_username() if obj.disbursed_by_id else "—"

    @admin.display(description=_("vehicle price"))
    def vehicle_price_display(self, obj: LoanApplication) -> str:
        return yuan(obj.vehicle_price)

    @admin.display(description=_("down payment"))
    def down_payment_display(self, obj: LoanApplication) -> str:
        return yuan(obj.down_payment)

    @admin.display(description=_("approved amount"))
    def approved_amount_display(self, obj: LoanApplication) -> str:
        return yuan(obj.approved_amount)

    @admin.display(description=_("approved annual rate"))
    def approved_rate_display(self, obj: LoanApplication) -> str:
        return "—" if obj.approved_rate is None else f"{obj.approved_rate * 100:.2f} %"

    # --- the queue page ---

    def changelist_view(self, request: HttpRequest, extra_context=None):
        links = [
            (gettext("All my stages"), {}),
            (Queue.MINE.label, {"queue": Queue.MINE}),
            (Queue.UNASSIGNED.label, {"queue": Queue.UNASSIGNED}),
            (LIKELY_TO_BREACH_LABEL, {"sla": selectors.LIKELY_TO_BREACH}),
            (SlaState.AT_RISK.label, {"sla": SlaState.AT_RISK}),
            (SlaState.BREACHED.label, {"sla": SlaState.BREACHED}),
        ]
        current = {key: value for key, value in request.GET.items() if key in ("queue", "sla")}
        queue_links = [
            {
                "label": label,
                "url": "?" + "&".join(f"{k}={v}" for k, v in params.items()),
                "active": current == params,
            }
            for label, params in links
        ]
        # A work tool wants the width: the queue and the page hide admin's navigation sidebar.
        context = {**(extra_context or {}), "queue_links": queue_links, "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, context)

    # --- the application page ---

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            context.update(self._work_context(request, obj))
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    def _work_context(self, request: HttpRequest, application: LoanApplication) -> dict:
        user = request.user
        if hasattr(application, "open_assignments"):  # prefetched by the queue's queryset
            assignment = application.open_assignments[0] if application.open_assignments else None
        else:
            assignment = services.open_assignment(application=application)
        transitions = [
            {
                "spec": spec,
                "form": spec.form_class(application=application, prefix=spec.name),
                "url": reverse(
                    "admin:applications_loanapplication_transition", args=[application.pk, spec.name]
                ),
            }
            for spec in staff_transitions_for(application=application, user=user)
        ]
        can_claim = (
            assignment is None
            and services.eligible_assignees(application=application).filter(pk=user.pk).exists()
        )
        reassign_form = None
        if user.has_perm(services.MANAGE_PERMISSION):
            reassign_form = ReassignForm(assignees=services.eligible_assignees(application=application))
        return {
            "is_nav_sidebar_enabled": False,
            "application": application,
            "sla": selectors.sla_of(application, now=timezone.now()),
            "assignment": assignment,
            "transitions": transitions,
            "can_claim": can_claim,
            "reassign_form": reassign_form,
            "documents_form_id": DOCUMENTS_FORM_ID,
            "pii_form_id": PII_FORM_ID,
            "requested_amount_display": yuan(application.requested_amount),
        }

    # --- the staff actions' own URLs ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/transition/<slug:name>/",
                view(self.transition_view),
                name="applications_loanapplication_transition",
            ),
            path(
                "<path:object_id>/documents/",
                view(require_POST(self.document_view)),
                name="applications_loanapplication_documents",
            ),
            path(
                "<path:object_id>/pii/",
                view(require_POST(self.pii_view)),
                name="applications_loanapplication_pii",
            ),
            path(
                "<path:object_id>/claim/",
                view(require_POST(self.claim_view)),
                name="applications_loanapplication_claim",
            ),
            path(
                "<path:object_id>/reassign/",
                view(require_POST(self.reassign_view)),
                name="applications_loanapplication_reassign",
            ),
            *super().get_urls(),
        ]

    def _get_visible(self, request: HttpRequest, object_id: str) -> LoanApplication:
        application = self.get_object(request, unquote(object_id))
        if application is None or not self.has_view_permission(request, application):
            raise Http404
        return application

    def _refused(self, request: HttpRequest, application: LoanApplication, message: str) -> TemplateResponse:
        """A clear page for an action the user may not take (a forged or outdated button): 403."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Not allowed"),
            "application": application,
            "message": message,
            "back_url": _back_url(request, application),
        }
        return TemplateResponse(request, "admin/reviews/loanapplication/refused.html", context, status=403)

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        spec = STAFF_TRANSITIONS.get(name)
        if spec is None:
            raise Http404
        # By id, not through the role-scoped queue: an application someone else just moved out of
        # this user's stages must still answer "moved on", not "not found".
        application = (
            LoanApplication.objects.select_related("product", "dealer").filter(pk=unquote(object_id)).first()
        )
        seen = request.POST.get(f"{name}-seen_stage") if request.method == "POST" else None
        visible = selectors.visible_stages(request.user)
        if application is None or (seen or application.stage) not in visible:
            raise Http404
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        form = spec.form_class(request.POST or None, application=application, prefix=name)
        if request.method == "POST":
            if seen != application.stage:
                messages.error(
                    request,
                    gettext(
                        "This application has moved on to “%(stage)s” since you opened it. Reload to see it."
                    )
                    % {"stage": application.get_stage_display()},
                )
                return redirect(_back_url(request, application))
            if form.is_valid():
                try:
                    moved = spec.service(application=application, actor=request.user, **form.service_kwargs())
                except PermissionDenied as error:
                    return self._refused(request, application, str(error))
                except ValidationError as error:
                    _add_service_errors(form, error)
                except core.TransitionError as error:
                    messages.error(request, str(error))
                    return redirect(_back_url(request, application))
                else:
                    messages.success(
                        request,
                        gettext("%(action)s: done. The application is now at “%(stage)s”.")
                        % {"action": spec.label, "stage": moved.get_stage_display()},
                    )
                    return redirect(_back_url(request, moved))
        elif name not in {t.name for t in staff_transitions_for(application=application, user=request.user)}:
            return self._refused(
                request, application, gettext("You cannot take this action on this application now.")
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{spec.label} · {application.display_reference}",
            "application": application,
            "spec": spec,
            "form": form,
            "back_url": _back_url(request, application),
        }
        return TemplateResponse(request, "admin/reviews/loanapplication/transition.html", context)

    def document_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._get_visible(request, object_id)
        verdict = "reject" if "reject" in request.POST else "accept"
        public_id = request.POST.get(verdict, "")
        form = DocumentVerdictForm(
            {"document": public_id, "verdict": verdict, "reason": request.POST.get(f"reason-{public_id}", "")}
        )
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(_back_url(request, application))
        document = (
            application.documents.select_related("document_type")
            .filter(public_id=form.cleaned_data["document"])
            .first()
        )
        if document is None:
            raise Http404
        try:
            if verdict == "accept":
                core.document_accept(document=document, actor=request.user)
                messages.success(
                    request, gettext("%(document)s accepted.") % {"document": document.document_type}
                )
            else:
                reason = form.cleaned_data["reason"]
                core.document_reject(document=document, actor=request.user, reason=reason)
                messages.success(
                    request,
                    gettext("%(document)s rejected: %(reason)s. The customer is asked for a new one.")
                    % {"document": document.document_type, "reason": reason.localized("text")},
                )
        except PermissionDenied as error:
            return self._refused(request, application, str(error))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except core.TransitionError as error:
            messages.error(request, str(error))
        return redirect(_back_url(request, application))

    def pii_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._get_visible(request, object_id)
        field = request.POST.get("field", "")
        if field not in PiiField.values:
            raise Http404
        try:
            revealed = services.pii_reveal(application=application, actor=request.user, field=field)
        except PermissionDenied as error:
            return self._refused(request, application, str(error))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{PiiField(field).label} · {application.display_reference}",
            "application": application,
            "field_label": PiiField(field).label,
            "value": revealed.value,
            "back_url": _back_url(request, application),
        }
        response = TemplateResponse(request, "admin/reviews/loanapplication/pii.html", context)
        response["Cache-Control"] = "private, no-store"
        return response

    def claim_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._get_visible(request, object_id)
        try:
            services.assignment_claim(application=application, actor=request.user)
        except services.AssignmentRefused as error:
            messages.error(request, str(error))
        else:
            messages.success(request, gettext("Assigned to you."))
        return redirect(_back_url(request, application))

    def reassign_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._get_visible(request, object_id)
        if not request.user.has_perm(services.MANAGE_PERMISSION):
            return self._refused(request, application, gettext("Only managers may reassign work."))
        form = ReassignForm(
            request.POST, assignees=selectors.User.objects.filter(is_active=True, is_staff=True)
        )
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(_back_url(request, application))
        assignee = form.cleaned_data["assignee"]
        try:
            services.assignment_reassign(application=application, assignee=assignee, actor=request.user)
        except services.AssignmentRefused as error:
            messages.error(request, str(error))
        else:
            messages.success(request, gettext("Assigned to %(name)s.") % {"name": assignee.get_username()})
        return redirect(_back_url(request, application))

    # --- changelist actions ---

    @admin.action(description=_("Assign to me"), permissions=["claim"])
    def claim_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        claimed, refused = 0, []
        for application in queryset:
            try:
                services.assignment_claim(application=application, actor=request.user)
                claimed += 1
            except services.AssignmentRefused as error:
                refused.append(f"{application.display_reference}: {error}")
        if claimed:
            messages.success(request, gettext("Assigned to you: %(count)s.") % {"count": claimed})
        for text in refused:
            messages.error(request, text)

    @admin.action(description=_("Reassign to…"), permissions=["manage"])
    def reassign_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ReassignForm(
            request.POST if "apply" in request.POST else None,
            assignees=selectors.User.objects.filter(
                pk__in=[pk for pk, _name in selectors.assignee_choices()]
            ).order_by("username"),
        )
        if form.is_valid():
            assignee = form.cleaned_data["assignee"]
            done, refused = 0, []
            for application in queryset:
                try:
                    services.assignment_reassign(
                        application=application, assignee=assignee, actor=request.user
                    )
                    done += 1
                except services.AssignmentRefused as error:
                    refused.append(f"{application.display_reference}: {error}")
            if done:
                messages.success(
                    request,
                    gettext("Assigned to %(name)s: %(count)s.")
                    % {"name": assignee.get_username(), "count": done},
                )
            for text in refused:
                messages.error(request, text)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Reassign applications"),
            "form": form,
            "applications": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/reviews/loanapplication/reassign.html", context)


def _add_service_errors(form: TransitionForm, error: ValidationError) -> None:
    """Put a service's ValidationError next to the form's fields (or above them)."""
    renames = getattr(form, "service_field_names", {})
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = renames.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Configuration and logs ---------------------------------------------------------------------


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    form = AssignmentRuleForm
    list_display = (
        "name",
        "role",
        "stage_list",
        "min_amount",
        "max_amount",
        "dealer_region",
        "priority",
        "is_active",
    )
    list_filter = ("role", "is_active")
    list_editable = ("priority", "is_active")

    @admin.display(description=_("stages"))
    def stage_list(self, obj: AssignmentRule) -> str:
        labels = dict(Stage.choices)
        return ", ".join(str(labels.get(stage, stage)) for stage in obj.stages)


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
