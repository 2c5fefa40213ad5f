"""Celery tasks of the accounts app: thin interfaces to its services."""

from __future__ import annotations

from celery import shared_task

from .otp.services import codes_purge


@shared_task(acks_late=True)
def one_time_codes_purge() -> int:
    """Beat, hourly: forget the one-time codes of yesterday (safe to run twice)."""
    return codes_purge()
