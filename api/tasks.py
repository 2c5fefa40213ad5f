"""Celery tasks of the API app: thin interfaces to its services."""

from __future__ import annotations

from celery import shared_task

from .services import idempotency_records_purge


@shared_task(acks_late=True)
def idempotency_purge() -> int:
    """Beat, hourly: forget the answers kept for Idempotency-Key retries after 24 hours."""
    return idempotency_records_purge()
