"""Celery tasks of the notifications app: thin interfaces that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from . import services
from .channels import TransientDeliveryError

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sla_sweep() -> dict:
    """Beat, every few minutes: one set-based pass of the SLA clock (safe to run twice at once)."""
    result = services.sla_sweep()
    if result.skipped:
        logger.info("SLA sweep skipped: another sweep holds the lock")
    elif result.more:
        # A backlog (after an outage or a data load): the next bounded pass now, not a beat later.
        sla_sweep.apply_async(countdown=1)
    return result.as_dict()


@shared_task(
    acks_late=True,
    autoretry_for=(TransientDeliveryError,),
    retry_backoff=5,
    retry_backoff_max=120,  # never a long countdown: the relay finds anything due later
    retry_jitter=True,
    max_retries=5,
    # A send never outlives its claim (DELIVERY_LEASE_SECONDS): a worker child stuck past this is
    # killed (prefork pool), and the relay puts the row back once the lease is over.
    time_limit=max(settings.DELIVERY_LEASE_SECONDS - 5, 1),
)
def deliver(delivery_id: int) -> str:
    """Send one delivery. Safe to run twice or on two workers: the claim lets one through."""
    return services.delivery_send(delivery_id=delivery_id)


@shared_task
def relay() -> int:
    """Beat, every ``DELIVERY_RELAY_INTERVAL`` seconds: queue the deliveries that are due (after a
    broker outage, quiet hours, a backoff, or a worker that died mid-send: its claim's lease over)."""
    ids = services.deliveries_due()
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


@shared_task(acks_late=True)
def expiry_remind() -> int:
    """Beat, every few minutes: the last reminder before a file expires, once per wait."""
    return services.expiry_reminders_send()


@shared_task
def daily_digest() -> int:
    """08:30 Shanghai: each manager's summary of overdue, at-risk and open files."""
    return services.digest_send()
