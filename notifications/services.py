"""Writes of the notifications app."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification


def notification_create(
    *, recipient_id: int, kind: str, dedupe_key: str, application=None, context: dict | None = None, now=None
) -> Notification | None:
    """Create the notification unless one with this dedupe key exists; return it, or None if it did."""
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's transaction
            return Notification.objects.create(
                recipient_id=recipient_id,
                kind=kind,
                dedupe_key=dedupe_key,
                application=application,
                context=context or {},
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None


def notifications_mark_read(
    *, recipient, ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Mark the recipient's unread notifications read (all, or those ids); return how many."""
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())
