"""Exactly one beat: how a second one is made harmless.

`make cluster` (Procfile.cluster) and the production topology run one beat process
(tests/test_topology.py checks it). A second one can still happen: a deploy that starts the new
beat before the old one has stopped, an operator starting one by hand, two hosts each given a
beat. Nothing then is sent or written twice, by design rather than by a lock: every task beat
runs is safe to run twice, at once or one after the other. The reasons are listed below, one per
scheduled task, and a new entry in ``CELERY_BEAT_SCHEDULE`` fails the first test until it says
why two beats cannot make it do anything twice. The second test runs the whole schedule as one
beat would, then again as a second beat would, on a book where each task has work, and finds
nothing new the second time.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django.utils.module_loading import import_string

from applications.models import LoanApplication, StageEvent
from applications.tests.factories import awaiting_documents, in_review
from common import sms
from notifications.models import Delivery, Notification, SweepRun

pytestmark = pytest.mark.django_db

WHY_TWICE_IS_HARMLESS = {
    "applications.tasks.precheck_sweep": "queues pre-checks again; a pre-check moves a file only "
    "from a definite stage, so the second finds it moved on",
    "notifications.tasks.sla_sweep": "a PostgreSQL advisory lock (the second pass is skipped), "
    "set-based UPDATEs from a definite state, notifications unique by dedupe key (ON CONFLICT DO NOTHING)",
    "notifications.tasks.relay": "queues due deliveries; a conditional UPDATE claim lets one worker send each",
    "notifications.webhooks.tasks.webhook_relay": "queues due webhook posts; the same claim as deliveries",
    "applications.tasks.applications_expire": "an advisory lock of its own, SKIP LOCKED, and the "
    "expiry a transition from a definite stage",
    "notifications.tasks.expiry_remind": "one reminder per wait (dedupe key)",
    "applications.tasks.retention_sweep": "an advisory lock of its own; an anonymised file is not found again",
    "applications.tasks.prediction_refresh": "recomputes a cached table: twice is only work",
    "accounts.tasks.one_time_codes_purge": "deletes old rows: the second finds none",
    "api.tasks.idempotency_purge": "deletes the API's kept answers past 24 hours: the second finds none",
    "notifications.tasks.daily_digest": "one digest per manager and Shanghai day (dedupe key)",
    "reports.tasks.report_refresh": "recomputes the cached default report: twice is only work",
    "reports.tasks.stay_rollup_refresh": "an advisory lock of its own; a day's rollup is replaced, "
    "not added to, so recomputing it twice gives the same rows",
}


def scheduled_tasks() -> list[str]:
    return [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]


def test_every_scheduled_task_says_why_a_second_beat_is_harmless():
    assert sorted(set(scheduled_tasks())) == sorted(WHY_TWICE_IS_HARMLESS)


def run_the_schedule(capture) -> None:
    """Every task beat would send, run here (tasks are eager in tests) with its commit callbacks."""
    for name in scheduled_tasks():
        with capture(execute=True):
            import_string(name).delay()


def what_happened() -> dict:
    return {
        "notifications": Notification.objects.count(),
        "deliveries": Delivery.objects.count(),
        "sent": Delivery.objects.filter(status="sent").count(),
        "events": StageEvent.objects.count(),
        "stages": sorted(LoanApplication.objects.values_list("stage", flat=True)),
        "emails": len(mail.outbox),
        "texts": len(sms.outbox),
    }


def test_a_second_beat_running_the_whole_schedule_again_does_nothing_twice(
    settings, customer, dealer, reviewer, manager, django_capture_on_commit_callbacks
):
    settings.SMS_QUIET_HOURS = None
    customer.set_phone("13812345678")
    customer.save()
    now = timezone.now()
    # Work for each: a file overdue in review (sweep: reminder, escalation, delay notice), one
    # waiting days for documents (nudges), a manager (digest), deliveries waiting (relay).
    overdue = in_review(customer, dealer)
    LoanApplication.objects.filter(pk=overdue.pk).update(
        stage_entered_at=now - dt.timedelta(days=3), stage_due_at=now - dt.timedelta(days=2)
    )
    waiting = awaiting_documents(customer, dealer, reviewer)
    LoanApplication.objects.filter(pk=waiting.pk).update(stage_entered_at=now - dt.timedelta(days=2))

    run_the_schedule(django_capture_on_commit_callbacks)  # the one beat
    once = what_happened()
    assert once["notifications"] > 0 and once["sent"] > 0 and SweepRun.objects.exists()

    run_the_schedule(django_capture_on_commit_callbacks)  # a second beat, the same moment
    run_the_schedule(django_capture_on_commit_callbacks)  # and a third, for good measure
    assert what_happened() == once
