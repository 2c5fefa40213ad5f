"""The back office's configuration: the assignment rules, kept as data managers edit."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from applications.choices import Stage

from ..forms import AssignmentRuleForm
from ..models import AssignmentRule


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(SimpleHistoryAdmin):
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
