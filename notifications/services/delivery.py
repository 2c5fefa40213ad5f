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


def lease() -> dt.timedelta:
    """How long a claim on a delivery lasts (``DELIVERY_LEASE_SECONDS``, 30 s by default). A send
    ends well inside it: the providers' own timeouts (SMS: 3 s to connect, 5 s to answer; e-mail:
    ``EMAIL_TIMEOUT``) and the task's time limit (``deliver``) bound it. A row still "sending"
    after its lease belonged to a worker that died: the relay, every ``DELIVERY_RELAY_INTERVAL``
    seconds, puts it back, so it is tried again within lease + interval (50 s by default)."""
    return dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


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

    A try after an earlier one (a worker that died mid-send, a timeout) first asks the provider
    whether that earlier try got through, by the delivery's own reference, which every try passes
    (``channels.reference_of``): then the row is marked sent and nothing is sent again. Returns
    "sent", "failed" or "skipped" (not due, or someone else has it or sent it); raises
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
    # This claim only: should it have outlived its lease and been taken by another worker, the
    # failures below leave that worker's claim alone.
    mine = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING, claimed_at=now)
    try:
        if delivery.attempts > 1 and channels.already_sent(delivery):
            logger.info("Delivery %s: an earlier try reached the provider; not sent again.", delivery_id)
        else:
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
    # Sent is true whoever holds the row now: it must not be sent again.
    Delivery.objects.filter(pk=delivery_id).exclude(status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The relay's work: reclaim rows whose claim outlived its lease (their worker died), then
    return the ids of deliveries due now, oldest first."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - lease()).update(
        status=DeliveryStatus.PENDING, claimed_at=None, last_error="reclaimed: the worker stopped mid-send"
    )
    return list(
        Delivery.objects.filter(status__in=_WAITING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
