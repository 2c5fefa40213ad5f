"""The unread count for the navbar's inbox badge."""

from __future__ import annotations

from functools import partial

from .selectors import unread_count_for


def unread_notifications(request) -> dict:
    """``unread_notification_count``: counted on first use in the template, at most once per page
    (one query), and never for an anonymous visitor."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notification_count": 0}

    # Templates call a callable without arguments: the query runs only if the page shows the badge,
    # and not again when the page's ETag has counted already.
    return {"unread_notification_count": partial(unread_count_for, request)}
