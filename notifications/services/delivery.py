"""Delivery: email and SMS rows of the outbox claimed, sent and marked, and the relay's work."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from common.broker import publish

from .. import channels
from ..choices import DeliveryStatus
from ..models import Delivery

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_ATTEMPTS = 6
# A row left in "sending" this long belonged to a worker that died mid-send: the relay reclaims it.
STUCK_AFTER = dt.timedelta(minutes=10)
_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED)


def quiet_hours_end(moment: dt.datetime) -> dt.datetime | None:
    """The end of the SMS quiet hours (``SMS_QUIET_HOURS``, Shanghai time; by default 21:00–08:00)
    after ``moment`` if it falls in them, else None."""
    if not settings.SMS_QUIET_HOURS:
        return None
    start, end = settings.SMS_QUIET_HOURS
    local = moment.astimezone(SHANGHAI)
    now = local.time()
    quiet = (now >= start or now < end) if start > end else (start <= now < end)
    if not quiet:
        return None
    day = local.date() if now < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=SHANGHAI).astimezone(dt.UTC)


def queue_deliveries(ids: list[int]) -> None:
    """Queue each delivery (after commit); if the broker is away, leave the rows to the relay."""
    from ..tasks import deliver

    for pk in ids:
        if not publish(partial(deliver.delay, pk), what=f"delivery {pk}"):
            return


def queue_relay() -> None:
    """Queue the relay (after commit), which queues every delivery that is due; beat runs it anyway."""
    from ..tasks import relay

    publish(relay.delay, what="the delivery relay")


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Claim the delivery (one conditional UPDATE: exactly one caller wins), send it, mark it sent.

    Returns "sent", "failed" or "skipped" (not due, or someone else has it or sent it); raises
    ``channels.TransientDeliveryError`` after putting the row back to wait, so the task retries.
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status__in=_WAITING, due_at__lte=now).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("notification__recipient", "notification__application").get(
        pk=delivery_id
    )
    mine = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING)
    try:
        channels.send(delivery)
    except channels.TransientDeliveryError as exc:
        if delivery.attempts >= MAX_ATTEMPTS:
            mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:1000])
            return "failed"
        backoff = dt.timedelta(seconds=min(5 * 2 ** (delivery.attempts - 1), 120))
        mine.update(status=DeliveryStatus.PENDING, last_error=str(exc)[:1000], due_at=now + backoff)
        raise
    except channels.PermanentDeliveryError as exc:
        mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:1000])
        return "failed"
    mine.update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The relay's work: reclaim rows stuck in "sending" (their worker died), then return the ids
    of deliveries due now, oldest first."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        status=DeliveryStatus.PENDING, claimed_at=None, last_error="reclaimed: the worker stopped mid-send"
    )
    return list(
        Delivery.objects.filter(status__in=_WAITING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
