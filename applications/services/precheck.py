"""The automatic pre-check as a service: bureau, rules, and the transition they decide."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import Stage
from ..models import (
    LoanApplication,
    Reason,
)
from .delays import WAITING_FOR_BUREAU, automatic_cause, delay_cause_set
from .lifecycle import (
    StaleApplication,
    TransitionRefused,
    precheck_pass,
    precheck_reject,
    precheck_request_documents,
    precheck_start,
)


def precheck_run(*, application_id: int, now: dt.datetime | None = None) -> LoanApplication:
    """Take a submitted application through the pre-check to review, documents or rejection.

    Safe to run twice or in two workers: each step is a transition from a definite stage, so the
    second runner finds the stage moved on and stops. The bureau is called outside any lock.
    """
    from ..bureau import BureauUnavailable, credit_bureau
    from ..models import BlacklistEntry
    from ..precheck import PrecheckInput, evaluate

    application = LoanApplication.objects.select_related("applicant", "product").get(pk=application_id)
    try:
        if application.stage == Stage.SUBMITTED:
            application = precheck_start(application=application, now=now)
        if application.stage != Stage.CREDIT_CHECK:
            return application
        applicant = application.applicant
        try:
            report = credit_bureau().report(id_number=applicant.id_number, full_name=applicant.full_name)
        except BureauUnavailable:
            # The task retries; meanwhile the file waits on a third party, and says so (once).
            _waiting_for_bureau(application, now=now)
            raise
        today = timezone.localdate(now or timezone.now())
        result = evaluate(
            PrecheckInput(
                birth_date=applicant.birth_date,
                today=today,
                term_months=application.term_months,
                vehicle_price=application.vehicle_price,
                down_payment=application.down_payment,
                min_down_payment_ratio=application.product.min_down_payment_ratio_for(application.powertrain),
                requested_amount=application.requested_amount,
                max_rate=application.product.rate_range_for(application.powertrain)[1],
                monthly_income=applicant.monthly_income,
                stated_monthly_debt=applicant.monthly_debt,
                blacklisted=BlacklistEntry.objects.filter(id_number_hash=applicant.id_number_hash).exists(),
                report=report,
            )
        )
        data = {"reasons": result.reasons, "facts": result.facts, "bureau": report.source}
        if not result.passed:
            return precheck_reject(
                application=application, reason=Reason.objects.get(code=result.reasons[0]), data=data, now=now
            )
        missing = application.missing_document_types()
        if missing:
            data["missing_documents"] = [doc_type.code for doc_type in missing]
            return precheck_request_documents(application=application, data=data, now=now)
        return precheck_pass(application=application, data=data, now=now)
    except (StaleApplication, TransitionRefused):
        # Another runner got there first; what it did stands.
        return LoanApplication.objects.get(pk=application_id)


def _waiting_for_bureau(application: LoanApplication, *, now: dt.datetime | None) -> None:
    reason = automatic_cause(WAITING_FOR_BUREAU)
    if reason is not None:
        delay_cause_set(application=application, reason=reason, actor=None, now=now)


def precheck_stuck_ids(
    *, now: dt.datetime | None = None, older_than: dt.timedelta = dt.timedelta(minutes=2), limit: int = 1000
) -> list[int]:
    """Applications whose pre-check should have finished (for example after the broker was down
    when they were submitted) and that the sweep has not queued again lately: oldest first."""
    now = now or timezone.now()
    again_after = dt.timedelta(seconds=settings.PRECHECK_REQUEUE_AFTER_SECONDS)
    return list(
        LoanApplication.objects.filter(
            Q(precheck_queued_at__isnull=True) | Q(precheck_queued_at__lte=now - again_after),
            stage__in=[Stage.SUBMITTED, Stage.CREDIT_CHECK],
            stage_entered_at__lte=now - older_than,
        )
        .order_by("stage_entered_at")
        .values_list("pk", flat=True)[:limit]
    )


def precheck_requeue_claim(*, now: dt.datetime | None = None) -> list[int]:
    """The stuck pre-checks the sweep queues now, at most ``PRECHECK_SWEEP_BATCH``, each marked as
    queued (two sweeps at once take different files). A file is queued once, then again only if
    it is still not done ``PRECHECK_REQUEUE_AFTER_SECONDS`` later: with a backlog (a long broker
    outage, a slow bureau) the queue grows by at most one batch a pass, so a new submission waits
    behind that, not behind the same files queued over and over."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = precheck_stuck_ids(now=now, limit=settings.PRECHECK_SWEEP_BATCH)
        claimed = list(
            LoanApplication.objects.filter(pk__in=ids)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        LoanApplication.objects.filter(pk__in=claimed).update(precheck_queued_at=now)
    return sorted(claimed, key=ids.index)
