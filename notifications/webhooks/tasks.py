"""Celery tasks of the webhooks (``CELERY_IMPORTS`` names this module): thin, they take ids."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> str:
    """Post one delivery. Safe to run twice or on two workers: the claim lets one through. A
    failed post is not retried here: the row waits for its next attempt, which the relay queues."""
    return services.webhook_delivery_send(delivery_id=delivery_id)


@shared_task
def webhook_relay() -> int:
    """Beat, every minute: queue the deliveries that are due (retries, a broker outage, a worker
    that died mid-post)."""
    ids = services.webhook_deliveries_due()
    for delivery_id in ids:
        webhook_deliver.delay(delivery_id)
    return len(ids)
