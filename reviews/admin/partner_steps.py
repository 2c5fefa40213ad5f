"""Partners' steps on the application page: each step of the file with its partner, status and
clock, and buttons to record the partner's answer (under way, done, failed with a cause, asked
again), which call ``applications.services.partner_step_report``.

The buttons belong to a form outside the admin's own (``PARTNER_STEPS_FORM_ID``, in the page's
template), as the documents' verdicts do. Only staff who may see the file (``reviews.permissions``,
through the page's ``_get_visible``) reach the view, and the service decides who may record
(``may_record_partner_step``: staff of the step's stage, or managers); the buttons show only to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from applications import services as core
from applications.choices import PartnerStepStatus, ReasonKind
from applications.models import PartnerStep, Reason
from applications.services.partner_steps import NEXT_STATUSES

from .inlines import BackOfficeInline

if TYPE_CHECKING:
    from .application_page import ApplicationPageMixin

PARTNER_STEPS_FORM_ID = "lp-partner-steps"

# The buttons' words, by the status they record.
BUTTONS = {
    PartnerStepStatus.IN_PROGRESS: _("Under way"),
    PartnerStepStatus.DONE: _("Done"),
    PartnerStepStatus.FAILED: _("Failed"),
    PartnerStepStatus.REQUESTED: _("Ask again"),
}


class PartnerStepInline(BackOfficeInline, admin.TabularInline):
    model = PartnerStep
    fields = (
        "stage",
        "kind",
        "partner_name",
        "required",
        "status",
        "requested_at",
        "due_at",
        "sla_state",
        "finished_at",
        "failure_cause",
        "answer",
    )
    readonly_fields = fields
    ordering = ("requested_at", "pk")
    verbose_name_plural = _("partner steps")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerStep]:
        return super().get_queryset(request).select_related("failure_cause")

    def _causes(self) -> list[Reason]:
        # One query for the page, only when a step can fail.
        if not hasattr(self, "_delay_causes"):
            self._delay_causes = list(Reason.objects.filter(kind=ReasonKind.DELAY, is_active=True))
        return self._delay_causes

    @admin.display(description=_("partner's answer"))
    def answer(self, obj: PartnerStep):
        if self.request is None or self.application is None or obj.stage != self.application.stage:
            return ""  # a step of a stay that ended: history only
        if not core.may_record_partner_step(step=obj, user=self.request.user):
            return ""
        statuses = [s for s in PartnerStepStatus.values if s in NEXT_STATUSES[obj.status]]
        if not statuses:
            return ""
        buttons = format_html_join(
            " ",
            '<button type="submit" class="button" form="{}" name="status-{}" value="{}" formnovalidate>{}</button>',
            ((PARTNER_STEPS_FORM_ID, obj.pk, status, BUTTONS[status]) for status in statuses),
        )
        if PartnerStepStatus.FAILED not in statuses:
            return buttons
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((r.pk, r.localized("text")) for r in self._causes())
        )
        return format_html(
            '{buttons} <label class="lp-visually-hidden" for="lp-cause-{step}">{label}</label>'
            '<select id="lp-cause-{step}" name="cause-{step}" form="{form}">'
            '<option value="">{default}</option>{options}</select>',
            buttons=buttons,
            step=obj.pk,
            label=gettext("Cause if it failed"),
            form=PARTNER_STEPS_FORM_ID,
            default=pgettext("cause of failure", "Partner's step has to be redone"),
            options=options,
        )


class PartnerStepAnswerForm(forms.Form):
    """One button's post: which step, which status, and the cause if it failed."""

    note = forms.CharField(required=False, max_length=1000)

    def __init__(self, data, *, application_id: int) -> None:
        super().__init__(data)
        self.step: PartnerStep | None = None
        self.status = ""
        self.cause: Reason | None = None
        for key, value in data.items():
            if key.startswith("status-") and value in PartnerStepStatus.values:
                step_id = key.removeprefix("status-")
                if step_id.isdigit():
                    self.step = PartnerStep.objects.filter(
                        pk=int(step_id), application_id=application_id
                    ).first()
                    self.status = value
                    cause = data.get(f"cause-{step_id}", "")
                    if cause.isdigit():
                        self.cause = Reason.objects.filter(
                            pk=int(cause), kind=ReasonKind.DELAY, is_active=True
                        ).first()
                break

    def clean(self):
        if self.step is None:
            raise forms.ValidationError(gettext("Choose a partner step and its answer."))
        return super().clean()


def partner_step_view(page: ApplicationPageMixin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Record a partner's answer on one of the file's steps (the service checks who may)."""
    from .application_page import _back_url  # the page module imports this one

    application = page._get_visible(request, object_id)  # 404 outside the user's scope
    form = PartnerStepAnswerForm(request.POST, application_id=application.pk)
    if not form.is_valid() or form.step is None:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_back_url(request, application))
    try:
        step = core.partner_step_report(
            step=form.step,
            status=form.status,
            cause=form.cause,
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except PermissionDenied as error:
        return page._refused(request, application, str(error))
    except core.TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            gettext("%(step)s: %(status)s.")
            % {"step": step.get_kind_display(), "status": step.get_status_display()},
        )
    return redirect(_back_url(request, application))
