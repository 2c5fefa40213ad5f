"""The application page: its read-only fields and inlines, the transition buttons, the document
verdicts, "show in full" for the applicant's identifiers, claiming and reassigning.

``ApplicationPageMixin`` holds the page's half of ``LoanApplicationAdmin`` (``loan_application.py``).
Every button posts to one of the page's own URLs, whose view calls a service: transitions
(``applications.services``, through ``transitions.STAFF_TRANSITIONS``), document verdicts, assignments
and unmasking (``reviews.services``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from applications import services as core
from applications.models import LoanApplication
from common.money import yuan

from .. import permissions, selectors, services
from ..choices import PiiField
from ..forms import DelayCauseForm, DocumentVerdictForm, ReassignForm, TransitionForm
from ..transitions import STAFF_TRANSITIONS, staff_transitions_for
from .inlines import (
    DOCUMENTS_FORM_ID,
    PII_FORM_ID,
    ApplicantInline,
    DocumentInline,
    StageEventInline,
    person_label,
)
from .partner_steps import PARTNER_STEPS_FORM_ID, PartnerStepInline, partner_step_view


def _back_url(request: HttpRequest, application: LoanApplication) -> str:
    """The application's page while the user may still see it (``reviews.permissions``; the file
    may have moved on since the caller read it: its stage is read again), else their queue."""
    stage = LoanApplication.objects.filter(pk=application.pk).values_list("stage", flat=True).first()
    if stage is not None and permissions.may_see_file(
        user=request.user, application_id=application.pk, stage=stage
    ):
        return reverse("admin:applications_loanapplication_change", args=[application.pk])
    return reverse("admin:applications_loanapplication_changelist")


class ApplicationPageMixin:
    """The page's half of ``LoanApplicationAdmin``: its fields, inlines and staff actions."""

    change_form_template = "admin/reviews/loanapplication/change_form.html"
    inlines = (ApplicantInline, DocumentInline, PartnerStepInline, StageEventInline)
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
                    "repayment_method",
                    "disbursed_by_name",
                    "closing_reason",
                    "submitted_at",
                    "closed_at",
                )
            },
        ),
        (_("History chain"), {"fields": ("event_count", "history_head"), "classes": ("collapse",)}),
    )

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        """The page's application with every person it names, one query (the queue needs fewer).

        Only a file in the user's scope (``reviews.permissions``: their stages, or assigned to
        them; managers every file); any other answers 404 like one that does not exist, rather
        than admin's redirect, which says "doesn't exist" only for missing ones."""
        rows = selectors.queue_rows(LoanApplication.objects.all())
        queryset = permissions.files_in_scope(user=request.user, queryset=rows).select_related(
            "customer",
            "applicant",
            "created_by",
            "reviewed_by",
            "approved_by",
            "disbursed_by",
            "delay_reason",
        )
        try:
            return queryset.get(pk=LoanApplication._meta.pk.to_python(object_id))
        except (LoanApplication.DoesNotExist, ValidationError, ValueError):
            raise Http404 from None

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def get_inline_instances(self, request: HttpRequest, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            inline.request = request
            inline.application = obj
        return inlines

    # --- the page's fields, in words and money rather than raw values ---

    @admin.display(description=_("customer account"))
    def customer_name(self, obj: LoanApplication) -> str:
        return person_label(obj, obj.customer)

    @admin.display(description=_("created by"))
    def created_by_name(self, obj: LoanApplication) -> str:
        return person_label(obj, obj.created_by)

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
        return yuan(obj.vehicle_price, empty="—")

    @admin.display(description=_("down payment"))
    def down_payment_display(self, obj: LoanApplication) -> str:
        return yuan(obj.down_payment, empty="—")

    @admin.display(description=_("approved amount"))
    def approved_amount_display(self, obj: LoanApplication) -> str:
        return yuan(obj.approved_amount, empty="—")

    @admin.display(description=_("approved annual rate"))
    def approved_rate_display(self, obj: LoanApplication) -> str:
        return "—" if obj.approved_rate is None else f"{obj.approved_rate * 100:.2f} %"

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
        # Unassigned, or held by a colleague: staff act only on files they hold, so they claim first.
        mine = assignment is not None and assignment.assignee_id == user.pk
        can_claim = not mine and (
            services.eligible_assignees(application=application).filter(pk=user.pk).exists()
        )
        delay_form = None
        holder_id = assignment.assignee_id if assignment is not None else None
        if core.may_set_delay_cause(application=application, user=user, holder_id=holder_id):
            delay_form = DelayCauseForm(initial={"reason": application.delay_reason_id}, prefix="delay")
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
            "delay_form": delay_form,
            "documents_form_id": DOCUMENTS_FORM_ID,
            "pii_form_id": PII_FORM_ID,
            "partner_steps_form_id": PARTNER_STEPS_FORM_ID,
            "requested_amount_display": yuan(application.requested_amount, empty="—"),
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
                "<path:object_id>/delay/",
                view(require_POST(self.delay_view)),
                name="applications_loanapplication_delay",
            ),
            path(
                "<path:object_id>/partner-step/",
                view(require_POST(self.partner_step_view)),
                name="applications_loanapplication_partner_step",
            ),
            path(
                "<path:object_id>/reassign/",
                view(require_POST(self.reassign_view)),
                name="applications_loanapplication_reassign",
            ),
            *super().get_urls(),
        ]

    def _get_visible(self, request: HttpRequest, object_id: str) -> LoanApplication:
        application = self.get_object(request, unquote(object_id))  # 404 outside the user's scope
        if not self.has_view_permission(request, application):
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

    def delay_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Set or change the cause of the current stage's delay (the service checks who may)."""
        application = self._get_visible(request, object_id)
        form = DelayCauseForm(request.POST, prefix="delay")
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(_back_url(request, application))
        reason = form.cleaned_data["reason"]
        try:
            core.delay_cause_set(
                application=application, reason=reason, actor=request.user, note=form.cleaned_data["note"]
            )
        except PermissionDenied as error:
            return self._refused(request, application, str(error))
        except core.TransitionError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                gettext("Cause of delay: %(reason)s. The customer is told it and its remedy.")
                % {"reason": reason.localized("text")},
            )
        return redirect(_back_url(request, application))

    def partner_step_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Record a partner's answer on a step (``admin/partner_steps.py``)."""
        return partner_step_view(self, request, object_id)

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


def _add_service_errors(form: TransitionForm, error: ValidationError) -> None:
    """Put a service's ValidationError next to the form's fields (or above them)."""
    renames = getattr(form, "service_field_names", {})
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = renames.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, error)
