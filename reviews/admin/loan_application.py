"""``LoanApplicationAdmin``: the queue (``queue.py``) over the applications this user's roles work,
and the application page (``application_page.py``, its documents: ``documents.py``) for the files
in their scope (``reviews.permissions``), read-only for everyone, superusers included.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from applications.choices import Stage
from applications.models import LoanApplication
from common.money import yuan

from .. import selectors
from .application_page import ApplicationPageMixin
from .documents import DocumentFileMixin
from .queue import WorkQueueMixin
from .search import QueueSearchMixin


@admin.register(LoanApplication)
class LoanApplicationAdmin(
    WorkQueueMixin, QueueSearchMixin, DocumentFileMixin, ApplicationPageMixin, admin.ModelAdmin
):
    # --- who may do what ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[LoanApplication]:
        return selectors.work_queue(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applications start on the customer or dealer site

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # stage changes only through the buttons, which call the services

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the history must stay whole

    # --- columns the queue and the page both show ---

    @admin.display(description=_("reference"), ordering="reference")
    def display_reference(self, obj: LoanApplication) -> str:
        return obj.display_reference

    @admin.display(description=_("amount"), ordering="requested_amount")
    def amount(self, obj: LoanApplication) -> str:
        return yuan(obj.requested_amount, empty="—")

    @admin.display(description=_("stage"), ordering="stage")
    def stage_label(self, obj: LoanApplication) -> str:
        # Stage(...).label, not get_stage_display(): that one rebuilds a dict of every choice for
        # each row, a tenth of the queue's time.
        return str(Stage(obj.stage).label)
