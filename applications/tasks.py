"""Celery tasks of the core: thin interfaces that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.broker import publish

from . import services
from .bureau import BureauUnavailable
from .choices import PartnerStepStatus

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
    """Re-queue pre-checks that should have finished (a lost message, a broker outage): each once,
    again only after ``PRECHECK_REQUEUE_AFTER_SECONDS``, at most a batch a pass."""
    ids = services.precheck_requeue_claim()
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


# --- The sandbox partner (``settings.PARTNER_SANDBOX``) -------------------------------------------


@shared_task(acks_late=True)
def partner_sandbox_answer(step_id: int, status: str) -> str:
    """The sandbox partner's answer on one step: under way, then (``PARTNER_SANDBOX_DELAY_SECONDS``
    later) done, through the same service as a real partner's callback. Safe to run twice (the same
    status again changes nothing); a step staff finished, or whose file left the stage, is left as
    it is."""
    from .models import PartnerStep

    step = PartnerStep.objects.select_related("application").filter(pk=step_id).first()
    if step is None or not step.is_open or step.application.stage != step.stage:
        return "left alone"
    services.partner_step_report(step=step, status=status)
    if status == PartnerStepStatus.IN_PROGRESS:
        enqueue_partner_sandbox(step_id, PartnerStepStatus.DONE)
    return status


def enqueue_partner_sandbox(step_id: int, status: str = PartnerStepStatus.IN_PROGRESS) -> None:
    """Queue the sandbox partner's next answer on a step, ``PARTNER_SANDBOX_DELAY_SECONDS`` from now;
    when the broker is away, log it (the step waits for staff, as with a real partner). Through
    ``common.broker``, as every publish a request makes: a hung broker costs one request its
    timeouts, not every one that requests partner steps (with it outside, `make faults` saw staff
    transitions take 1.2–3.5 s while Redis hung)."""
    publish(
        lambda: partner_sandbox_answer.apply_async(
            (step_id, str(status)), countdown=settings.PARTNER_SANDBOX_DELAY_SECONDS
        ),
        what=f"the sandbox partner's answer on step {step_id}",
    )
