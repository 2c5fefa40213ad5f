"""The work queue: the applications list with its filters, search, columns and bulk actions.

``WorkQueueMixin`` holds the list's half of ``LoanApplicationAdmin`` (``loan_application.py``); the
bulk actions call ``reviews.services`` like the page's buttons do.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.roles import STAFF_ROLES
from applications import services as core
from applications.choices import ReasonKind, Stage
from applications.models import LoanApplication
from applications.reference import reference_data
from common.pii import mask_name

from .. import search as reviews_search
from .. import selectors, services
from ..choices import Queue, SlaState
from ..forms import DelayCauseForm, ReassignForm
from .search import FoundFilter, search_context

LIKELY_TO_BREACH_LABEL = _("Likely to breach")


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


class DelayCauseFilter(admin.SimpleListFilter):
    """By the current cause of delay: one of the catalogue's delay reasons, or none recorded."""

    title = _("cause of delay")
    parameter_name = "delay"
    NONE = "none"

    def lookups(self, request, model_admin):
        # The catalogue from the shared cache (``applications.reference``): no query once cached.
        catalogue = reference_data().reasons.values()
        reasons = sorted((r for r in catalogue if r.kind == ReasonKind.DELAY), key=lambda r: r.code)
        return [(self.NONE, _("None recorded")), *((r.code, r.localized("text")) for r in reasons)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NONE:
            return queryset.filter(delay_reason__isnull=True)
        if value:
            return queryset.filter(delay_reason__code=value)
        return queryset


# --- The list ---------------------------------------------------------------------------------------


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


class WorkQueueMixin:
    """The queue's half of ``LoanApplicationAdmin``: what the list shows, how it filters, searches,
    orders and counts, and the actions on the rows it selects."""

    change_list_template = "admin/reviews/loanapplication/change_list.html"
    list_display = (
        "display_reference",
        "applicant_masked",
        "dealer",
        "product",
        "amount",
        "stage_label",
        "assignee",
        "sla_badge",
        "delay_cause",
    )
    list_display_links = ("display_reference",)
    list_filter = (
        QueueFilter,
        SlaFilter,
        StageFilter,
        DelayCauseFilter,
        "dealer",
        "product",
        AssigneeFilter,
        FoundFilter,
    )
    # Shows the box, which posts (``search.py``); get_search_results matches the address's ?q=.
    search_fields = ("reference",)
    search_help_text = _("A reference (ABCDE-23456) or the applicant's full mobile number.")
    list_per_page = 50  # a screenful to work from; rendering the rows is most of the page's time
    paginator = CappedCountPaginator
    show_full_result_count = False  # one COUNT(*) per page is enough on a large book
    actions = ("claim_selected", "reassign_selected", "set_delay_cause_selected")

    def get_changelist(self, request: HttpRequest, **kwargs):
        return WorkQueueChangeList

    def get_ordering(self, request: HttpRequest):
        # Soonest due first; stages without a time limit (closed files) last.
        return [F("stage_due_at").asc(nulls_last=True), "-pk"]

    def has_claim_permission(self, request: HttpRequest) -> bool:
        return bool(selectors.user_roles(request.user) & STAFF_ROLES) or request.user.is_superuser

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.MANAGE_PERMISSION)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return reviews_search.reference_filter(queryset, search_term), False

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

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj: LoanApplication) -> str:
        applicant = getattr(obj, "applicant", None)
        if applicant is None:
            return "—"
        return f"{mask_name(applicant.full_name)} · {applicant.masked_phone}"

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

    @admin.display(description=_("cause of delay"))
    def delay_cause(self, obj: LoanApplication):
        # Joined by the queue's query (``selectors.work_queue``): no query per row.
        if obj.delay_reason is None:
            return format_html('<span class="lp-muted">{}</span>', "—")
        return obj.delay_reason.localized("text")

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
        context = {
            **(extra_context or {}),
            **search_context(request),
            "queue_links": queue_links,
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, context)

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

    @admin.action(description=_("Set the cause of delay…"), permissions=["claim"])
    def set_delay_cause_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """One cause for the selected files (each checked by the service: a file of a stage the
        user does not work, or closed, is refused and named)."""
        form = DelayCauseForm(request.POST if "apply" in request.POST else None, prefix="delay")
        if form.is_valid():
            reason, note = form.cleaned_data["reason"], form.cleaned_data["note"]
            done, refused = 0, []
            for application in queryset:
                try:
                    core.delay_cause_set(
                        application=application, reason=reason, actor=request.user, note=note
                    )
                    done += 1
                except (PermissionDenied, core.TransitionError) as error:
                    refused.append(f"{application.display_reference}: {error}")
            if done:
                messages.success(
                    request,
                    gettext("Cause of delay set to “%(reason)s”: %(count)s.")
                    % {"reason": reason.localized("text"), "count": done},
                )
            for text in refused:
                messages.error(request, text)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Set the cause of delay"),
            "form": form,
            "applications": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/reviews/loanapplication/delay_cause.html", context)
