"""Reads of the notifications app."""

from __future__ import annotations

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


def unread_count(*, user) -> int:
    """How many the user has not read (1 query, on the recipient/read_at index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


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
