"""Cursor pagination for the dealership's list: newest change first, stable while files change
(an opaque ``cursor`` instead of page numbers, so a file updated during the walk is neither
skipped nor shown twice on the pages that follow). Pair it with ``updated_since`` to sync."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class UpdatedCursorPagination(CursorPagination):
    ordering = ("-updated_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
