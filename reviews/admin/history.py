"""The history admin: every event of the files this user may see, read-only.

The events carry staff notes, the pre-check's facts and the credit score, so the list, its search
and each event's page are cut to the user's scope (``reviews.permissions``): an event of another
file is absent from the list and its page answers 404, like one that does not exist.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from applications.models import StageEvent
from common.identifiers import canonical_reference, canonical_text

from .. import permissions


@admin.register(StageEvent)
class StageEventAdmin(admin.ModelAdmin):
    list_display = ("application", "sequence", "created_at", "transition", "from_stage", "to_stage", "actor")
    list_select_related = ("application", "actor")
    list_filter = ("kind", "to_stage")
    search_fields = ("application__reference",)  # shows the box; get_search_results matches
    show_full_result_count = False  # one COUNT(*) over the scope is enough

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageEvent]:
        return permissions.events_in_scope(user=request.user, queryset=super().get_queryset(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # Out of scope and missing answer alike: 404 (admin's own answer is a redirect that says
        # "doesn't exist", which would tell the two apart from the page that exists).
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """An application's reference, in any spelling (``common.identifiers``), within the scope."""
        if not canonical_text(search_term):
            return queryset, False
        return queryset.filter(application__reference=canonical_reference(search_term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
