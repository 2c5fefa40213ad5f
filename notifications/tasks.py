"""Celery tasks of the notifications app: thin interfaces that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sla_sweep() -> dict:
    """Beat, every few minutes: one set-based pass of the SLA clock (safe to run twice at once)."""
    result = services.sla_sweep()
    if result.skipped:
        logger.info("SLA sweep skipped: another sweep holds the lock")
    return result.as_dict()
