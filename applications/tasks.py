"""Celery tasks of the core: thin interfaces that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.broker import publish

from . import services
from .bureau import BureauUnavailable

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(BureauUnavailable,),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def precheck_run(application_id: int) -> None:
    services.precheck_run(application_id=application_id)


@shared_task
def precheck_sweep() -> int:
    """Re-queue pre-checks that should have finished (a lost message, a broker outage)."""
    ids = services.precheck_stuck_ids()
    for application_id in ids:
        precheck_run.delay(application_id)
    return len(ids)


@shared_task
def prediction_refresh() -> int:
    """Recompute the delay prediction's table ahead of its cache expiry, off the request path."""
    from .prediction import duration_table_refresh

    return len(duration_table_refresh())


@shared_task(acks_late=True)
def applications_expire() -> dict:
    """Beat, every few minutes: close the files whose time is up (safe to run twice at once: the
    second pass finds the lock taken, or nothing left)."""
    result = services.applications_expire_due(now=timezone.now(), batch=settings.EXPIRY_BATCH)
    if result.skipped:
        logger.info("Expiry pass skipped: another pass holds the lock")
    elif result.more:
        # A backlog (after an outage of beat, or a limit shortened in the admin): the next pass now.
        applications_expire.apply_async(countdown=1)
    return {"expired": len(result.expired), "more": result.more, "skipped": result.skipped}


@shared_task(acks_late=True)
def retention_sweep() -> dict:
    """Beat, hourly by default: anonymise the closed files past their retention period and delete
    the applications never submitted (``services.retention``; safe to run twice at once: the second
    pass finds the lock taken, or nothing left)."""
    result = services.retention_apply(now=timezone.now(), batch=settings.RETENTION_BATCH)
    if result.skipped:
        logger.info("Retention pass skipped: another pass holds the lock")
    elif result.more:
        retention_sweep.apply_async(countdown=1)
    return {"anonymised": result.anonymised, "drafts_deleted": result.drafts_deleted, "more": result.more}


def enqueue_precheck(application_id: int) -> None:
    """Queue the pre-check; when the broker is away, leave it to the sweep (``common.broker``)."""
    publish(lambda: precheck_run.delay(application_id), what=f"the pre-check of application {application_id}")
