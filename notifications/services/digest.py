"""The managers' daily digest."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from accounts.roles import Role
from applications.models import CorrectionRequest, LoanApplication
from applications.sla import STAFF_CLOCK_STAGES, SlaState

from ..choices import Kind
from .outbox import notification_create


def digest_send(*, now: dt.datetime | None = None) -> int:
    """One summary a day for every active manager: breached, at-risk and open files in staff
    stages, and the open (and overdue) correction requests. The dedupe key carries the Shanghai date, so a rerun that day sends nothing more."""
    now = now or timezone.now()
    counts = LoanApplication.objects.filter(stage__in=STAFF_CLOCK_STAGES).aggregate(
        open=Count("pk"),
        breached=Count("pk", filter=Q(sla_state=SlaState.BREACHED)),
        at_risk=Count("pk", filter=Q(sla_state=SlaState.AT_RISK)),
    )
    # Customers' correction requests (PIPL) waiting for an answer, and those past their due time.
    counts |= CorrectionRequest.objects.filter(status=CorrectionRequest.Status.OPEN).aggregate(
        corrections=Count("pk"), corrections_overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    day = timezone.localdate(now).isoformat()
    managers = (
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .values_list("pk", flat=True)
    )
    sent = 0
    for manager_id in managers:
        created = notification_create(
            recipient_id=manager_id,
            kind=Kind.DAILY_DIGEST,
            dedupe_key=f"digest:{day}:{manager_id}",
            context={**counts, "date": day},
            now=now,
        )
        sent += created is not None
    return sent
