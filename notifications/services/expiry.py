"""The last reminder before a file expires: the core says which customers' files are in their
last-reminder window (``applications.expiry.expiry_reminders_due``, by the limits on the stage
definitions); this writes one reminder per wait, set-based, and leaves the expiry itself to the core's
pass (``applications.services.applications_expire_due``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from applications.expiry import expiry_reminders_due

from ..choices import Kind
from ..models import Notification
from .outbox import NewNotification, notifications_create_many


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")


def expiry_reminders_send(*, now: dt.datetime | None = None, batch: int | None = None) -> int:
    """Write the last reminder of at most ``batch`` files in their window that have not had theirs
    for this wait; return how many were written.

    One query finds them: the window is the core's, and a file whose reminder was written since its
    wait began (the stage's start, or a draft's last change) is left out, so a pass over a quiet
    window reads nothing. The dedupe key names the file and the wait: a repeated or concurrent pass
    adds nothing, and a draft the customer touches and leaves again gets a new reminder later."""
    now = now or timezone.now()
    batch = batch or settings.EXPIRY_BATCH
    reminded = Notification.objects.filter(
        application_id=OuterRef("pk"),
        kind=Kind.EXPIRY_WARNING,
        created_at__gte=OuterRef("waiting_since"),
    )
    due = expiry_reminders_due(now=now).exclude(Exists(reminded))[:batch]
    rows = [
        NewNotification(
            app["customer_id"],
            Kind.EXPIRY_WARNING,
            f"expiry:{app['id']}:{_stamp(app['waiting_since'])}",
            app["id"],
            {"stage": app["stage"], "expires": app["expires_at"].isoformat()},
        )
        for app in due
    ]
    return notifications_create_many(rows=rows, now=now)
