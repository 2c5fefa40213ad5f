"""Reads of the notifications app."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ChannelPreference, Notification


def inbox(*, user) -> QuerySet[Notification]:
    """The user's notifications, newest first, with the application each is about (1 query a page)."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("application")
        .order_by("-created_at", "-pk")
    )


def unread_count(*, user) -> int:
    """How many the user has not read (1 query, on the recipient/read_at index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def unread_count_sql(*, recipient: str) -> str:
    """The same count as an SQL expression, for a statement that reads it with the user's own row:
    ``recipient`` is that statement's column holding the user's id (the customer timeline's repeat
    views read the session, the user, the file and this in one query)."""
    table = Notification._meta.db_table
    return f'(SELECT count(*) FROM "{table}" WHERE "recipient_id" = {recipient} AND "read_at" IS NULL)'  # noqa: S608


def channel_preference_of(*, user) -> ChannelPreference:
    """The user's channel preference (1 query); an unsaved default (both on) when they never set
    one, so reading the settings page writes nothing."""
    return ChannelPreference.objects.filter(user=user).first() or ChannelPreference(user=user)
