"""Reads of the notifications app."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ChannelPreference, Notification


def inbox(*, user) -> QuerySet[Notification]:
    """The user's notifications, newest first, with the application each is about (1 query a page)."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("application")
        .order_by("-created_at", "-pk")
    )


# Every signed-in page's navbar counts: written out, the count costs a quarter of the CPU the ORM
# spends building the same statement (its Python, not PostgreSQL, was most of the query's cost).
_UNREAD_SQL = (
    f"SELECT count(*) FROM {Notification._meta.db_table} WHERE recipient_id = %s AND read_at IS NULL"  # noqa: S608
)


def unread_count(*, user) -> int:
    """How many the user has not read (1 query, on the recipient/read_at index)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_SQL, [user.pk])
        return cursor.fetchone()[0]


def unread_count_for(request: HttpRequest) -> int:
    """The signed-in visitor's unread count, counted at most once per request: the navbar's badge
    and a page's version (``frame_version``) read the same figure."""
    if not hasattr(request, "unread_notification_count"):
        request.unread_notification_count = unread_count(user=request.user)  # type: ignore[attr-defined]
    return request.unread_notification_count  # type: ignore[attr-defined]


def frame_version(request: HttpRequest) -> str:
    """What this app shows in the site's frame for this visitor (the inbox badge), as text for a
    page's ETag; listed in ``settings.LOANPORTAL_FRAME_PARTS``."""
    return f"unread:{unread_count_for(request)}"


def channel_preference_of(*, user) -> ChannelPreference:
    """The user's channel preference (1 query); an unsaved default (both on) when they never set
    one, so reading the settings page writes nothing."""
    return ChannelPreference.objects.filter(user=user).first() or ChannelPreference(user=user)
