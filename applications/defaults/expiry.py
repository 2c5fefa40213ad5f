"""The default expiry limits (``applications.expiry``), set on the stage definitions: an offer
expires at its reply-by date with a last reminder a day before, a file waiting for documents at its
deadline with a last reminder three days before, and a draft untouched for 30 days, with a last
reminder three days before."""

from __future__ import annotations

from datetime import timedelta

from django.apps.registry import Apps

# stage: (expires at the deadline, expires when untouched for, last reminder before)
EXPIRY_LIMITS: dict[str, tuple[bool, timedelta | None, timedelta | None]] = {
    "draft": (False, timedelta(days=30), timedelta(days=3)),
    "awaiting_documents": (True, None, timedelta(days=3)),
    "offer_pending": (True, None, timedelta(days=1)),
}


def expiry_limits_load(apps: Apps) -> None:
    """Set the default limits on the stage definitions (idempotent), through ``apps``: the data
    migration's historical registry, or the live one."""
    StageDefinition = apps.get_model("applications", "StageDefinition")
    for stage, (at_deadline, untouched, reminder) in EXPIRY_LIMITS.items():
        StageDefinition.objects.filter(stage=stage).update(
            expires_at_deadline=at_deadline, expires_when_untouched=untouched, last_reminder_before=reminder
        )
