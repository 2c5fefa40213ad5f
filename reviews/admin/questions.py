"""Customers' questions in the back office: the queue of threads waiting for a reply (oldest first
response due first), each thread's page with its messages and the reply form, and canned answers.

Who may read and answer a thread is who may see its file here (``permissions.threads_in_scope``:
the stages their roles work or the files they hold; managers every file). Replies go through the core's services:
``question_answer`` (the customer reads it and is told) or ``question_note_add`` (staff only).
"""

from __future__ import annotations

import copy
import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from applications import services as core
from applications.choices import Stage
from applications.models import QuestionThread
from applications.services.documents import EXTENSIONS
from applications.sla import SlaState

from .. import selectors
from ..forms import AnswerForm
from ..models import CannedAnswer
from ..permissions import threads_in_scope

# Who may open files in the back office: every staff role (``applications.defaults.roles``).
SEES_FILES = "applications.view_loanapplication"


class AwaitingFilter(admin.SimpleListFilter):
    title = _("reply")
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("yes", _("Waiting for a reply")), ("no", _("Answered"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(response_due_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(response_due_at__isnull=True)
        return queryset


@admin.register(QuestionThread)
class QuestionThreadAdmin(admin.ModelAdmin):
    list_display = (
        "display_reference",
        "stage_label",
        "awaiting_since",
        "due",
        "sla_label",
        "last_message_at",
    )
    list_filter = (AwaitingFilter, "sla_state")
    search_fields = ("=application__reference",)
    # Waiting threads first, the soonest due on top; then the latest conversations.
    ordering = (F("response_due_at").asc(nulls_last=True), "-last_message_at")
    list_per_page = 50
    show_full_result_count = False
    change_form_template = "admin/reviews/questionthread/change_form.html"
    fields = ("display_reference", "stage_label", "awaiting_since", "response_due_at", "sla_label")
    readonly_fields = fields

    # --- who may do what ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuestionThread]:
        return threads_in_scope(user=request.user)

    # Whoever may open the files in the back office may open their threads (the queryset narrows
    # it to the files of their stages); the permission comes from the cache Django already holds.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SEES_FILES)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(SEES_FILES)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # threads start with the customer's question

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # replies go through the form below the messages, which calls the services

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # what the customer was told must stay

    # --- columns ---

    @admin.display(description=_("reference"), ordering="application__reference")
    def display_reference(self, obj: QuestionThread) -> str:
        return obj.application.display_reference

    @admin.display(description=_("stage"), ordering="application__stage")
    def stage_label(self, obj: QuestionThread) -> str:
        return str(Stage(obj.application.stage).label)

    @admin.display(description=_("first response due"), ordering="response_due_at")
    def due(self, obj: QuestionThread) -> str:
        if obj.response_due_at is None:
            return "—"
        now = timezone.now()
        # Written as the row's other times are (the locale's date and time format, Asia/Shanghai).
        local = formats.localize(timezone.localtime(obj.response_due_at))
        if obj.response_due_at <= now:
            return gettext("%(due)s (overdue)") % {"due": local}
        return gettext("%(due)s (in %(left)s)") % {"due": local, "left": timeuntil(obj.response_due_at, now)}

    @admin.display(description=_("SLA state"), ordering="sla_state")
    def sla_label(self, obj: QuestionThread) -> str:
        return str(SlaState(obj.sla_state).label) if obj.awaiting_reply else "—"

    # --- the thread's page: messages and the reply form ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/attachment/<uuid:public_id>/",
                view(self.attachment_view),
                name="applications_questionthread_attachment",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        thread = self.get_object(request, object_id)
        if thread is None:
            raise Http404  # not a thread of a file this user may see
        form = AnswerForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            response = self._reply(request, thread, form)
            if response is not None:
                return response
        if request.method == "POST":
            # A reply that needs correcting: the page again, as on a GET (Django's change view
            # would take a POST for an edit of the thread, which nobody may make), with the form
            # and its errors.
            request = copy.copy(request)
            request.method = "GET"
        context = {
            **(extra_context or {}),
            "thread": thread,
            "thread_messages": selectors.thread_messages(thread=thread),
            "answer_form": form,
            "application_url": reverse(
                "admin:applications_loanapplication_change", args=[thread.application_id]
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _reply(self, request: HttpRequest, thread: QuestionThread, form: AnswerForm) -> HttpResponse | None:
        if not form.is_valid():
            return None
        service = core.question_note_add if form.cleaned_data["internal"] else core.question_answer
        try:
            service(thread=thread, actor=request.user, body=form.cleaned_data["body"])
        except (PermissionDenied, ValidationError) as error:
            form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))
            return None
        if form.cleaned_data["internal"]:
            messages.success(request, gettext("Internal note added. The customer does not see it."))
        else:
            messages.success(request, gettext("Answer sent. The customer is notified."))
        return HttpResponseRedirect(request.path)

    def attachment_view(self, request: HttpRequest, object_id: str, public_id: uuid.UUID) -> FileResponse:
        thread = self.get_object(request, object_id)
        if thread is None:
            raise Http404
        message = get_object_or_404(thread.messages.exclude(attachment=""), public_id=public_id)
        try:
            content = message.attachment.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            content,
            as_attachment=True,
            filename=f"{thread.application.reference}-{message.pk}.{EXTENSIONS.get(message.attachment_type, 'bin')}",
            content_type=message.attachment_type or "application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(CannedAnswer)
class CannedAnswerAdmin(admin.ModelAdmin):
    """Everyone answering may read them; managers keep them (the model's permissions, which
    ``reviews.defaults`` grants the manager's group)."""

    list_display = ("title", "is_active", "position")
    list_editable = ("is_active", "position")
    search_fields = ("title", "text")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SEES_FILES) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(SEES_FILES) or super().has_view_permission(request, obj)
