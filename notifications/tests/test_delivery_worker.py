"""End to end through Redis and a real Celery worker process: notifications are delivered once."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.db import transaction
from django.utils import timezone

from applications import services
from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import make_draft
from conftest import wait_for
from notifications.choices import Channel, DeliveryStatus, Kind
from notifications.models import Delivery, Notification, SweepRun
from notifications.services import deliveries_due, delivery_send, notification_create

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def sms_log(monkeypatch, tmp_path, settings):
    """Before the worker starts: it inherits the environment."""
    path = tmp_path / "sms.log"
    monkeypatch.setenv("SMS_LOG_FILE", str(path))
    settings.SMS_LOG_FILE = path
    return path


@pytest.fixture
def slow_sms(monkeypatch, sms_log):
    monkeypatch.setenv("SMS_BACKEND", "notifications.tests.slow_sms.SlowLogFileBackend")
    monkeypatch.setenv("SMS_SLOW_SECONDS", "30")
    return sms_log


def lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def all_sent(rows):
    return rows.exists() and not rows.exclude(status=DeliveryStatus.SENT).exists()


def test_a_transition_leads_to_a_delivered_notification(sms_log, celery_worker_process, customer, dealer):
    customer.set_phone("13812345678")
    customer.save()
    application = make_draft(customer=customer, dealer=dealer)
    services.application_submit(application=application, actor=customer)
    # The worker runs the pre-check, which asks for documents: the customer is told by email and SMS.
    rows = Delivery.objects.filter(notification__kind=Kind.DOCUMENTS_REQUESTED)
    wait_for(lambda: rows.count() == 2 and all_sent(rows), timeout=30)
    assert len(lines(sms_log)) == 1


def test_the_sweep_run_twice_sends_one_reminder(sms_log, celery_worker_process, reviewer, customer, dealer):
    from notifications.tasks import sla_sweep

    application = make_draft(customer=customer, dealer=dealer)
    application = services.application_submit(application=application, actor=customer)
    wait_for(lambda: LoanApplication.objects.get(pk=application.pk).stage == Stage.AWAITING_DOCUMENTS)
    # Put it under review, entered two days ago and overdue since yesterday.
    now = timezone.now()
    LoanApplication.objects.filter(pk=application.pk).update(
        stage=Stage.UNDER_REVIEW,
        stage_entered_at=now - dt.timedelta(days=2),
        stage_due_at=now - dt.timedelta(days=1),
    )
    sla_sweep.delay()
    sla_sweep.delay()
    wait_for(lambda: SweepRun.objects.exists())
    reminders = Notification.objects.filter(kind=Kind.SLA_BREACHED, recipient=reviewer)
    wait_for(lambda: all_sent(Delivery.objects.filter(notification__in=reminders)), timeout=30)
    assert reminders.count() == 1
    assert Delivery.objects.filter(notification__in=reminders, channel=Channel.EMAIL).count() == 1


def test_a_worker_killed_mid_send_still_ends_with_exactly_one_delivery(
    slow_sms, celery_worker_process, customer, monkeypatch
):
    customer.set_phone("13812345678")
    customer.save()
    with transaction.atomic():
        notification = notification_create(recipient_id=customer.pk, kind=Kind.OFFER_READY, dedupe_key="kill")
    delivery = notification.deliveries.get(channel=Channel.SMS)
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENDING)
    celery_worker_process.send_signal(signal.SIGKILL)  # in the middle of the provider call
    celery_worker_process.wait(timeout=10)
    assert lines(slow_sms) == []
    # Ten minutes on, the relay reclaims the row; a second attempt (here in-process) sends it.
    later = timezone.now() + dt.timedelta(minutes=11)
    assert delivery.pk in deliveries_due(now=later)
    monkeypatch.setenv("SMS_SLOW_SECONDS", "0")
    assert delivery_send(delivery_id=delivery.pk, now=later) == "sent"
    # The killed task's message, redelivered by Redis later (acks_late), finds the row sent.
    assert delivery_send(delivery_id=delivery.pk, now=later) == "skipped"
    assert len(lines(slow_sms)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
