"""End to end through Redis and a real Celery worker process: notifications are delivered once."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.conf import settings
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
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def sms_log(monkeypatch, tmp_path, settings):
    """Before the worker starts: it inherits the environment. No quiet hours, in the worker and
    here, so that a text message is sent whatever the time of day the tests run at."""
    path = tmp_path / "sms.log"
    monkeypatch.setenv("SMS_LOG_FILE", str(path))
    monkeypatch.setenv("SMS_BACKEND", "common.sms.LogFileBackend")  # the tests' default keeps them in memory
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    settings.SMS_LOG_FILE = path
    settings.SMS_QUIET_HOURS = None
    settings.SMS_BACKEND = "common.sms.LogFileBackend"
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
    # Past the claim's lease, the relay reclaims the row; a second attempt (here in-process) sends it.
    later = timezone.now() + dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    assert delivery.pk in deliveries_due(now=later)
    monkeypatch.setenv("SMS_SLOW_SECONDS", "0")
    assert delivery_send(delivery_id=delivery.pk, now=later) == "sent"
    # The killed task's message, redelivered by Redis later (acks_late), finds the row sent.
    assert delivery_send(delivery_id=delivery.pk, now=later) == "skipped"
    assert len(lines(slow_sms)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)


# --- A broker outage during a transition ---------------------------------------------------------

OWN_REDIS_PORT = 6391


def _start_redis():
    import subprocess
    import time

    import redis

    process = subprocess.Popen(  # noqa: S603
        [  # noqa: S607 (Debian's redis-server on PATH, as in CI)
            "redis-server",
            "--port",
            str(OWN_REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=OWN_REDIS_PORT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return process
        except redis.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("the test's own redis-server did not start")


@pytest.fixture
def own_redis(monkeypatch, sms_log):
    """A second redis-server for this test alone, so stopping it never disturbs the shared one.
    The worker (started after this fixture) and this process's Celery app both use it."""
    from loanportal.celery import app

    url = f"redis://127.0.0.1:{OWN_REDIS_PORT}/1"
    holder = {"process": _start_redis()}
    monkeypatch.setenv("REDIS_URL", url)
    previous = app.conf.broker_url
    _point_celery_at(app, url)
    yield holder
    if holder["process"].poll() is None:
        holder["process"].terminate()
        holder["process"].wait(timeout=10)
    _point_celery_at(app, previous)


def _point_celery_at(app, url: str) -> None:
    """Switch this process's Celery app to another broker: drop every pooled connection."""
    import kombu.pools

    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    kombu.pools.reset()
    app.amqp._producer_pool = None


def test_redis_down_during_a_transition_delivers_once_when_it_is_back(
    own_redis, sms_log, celery_worker_process, customer, reviewer, dealer
):
    from applications.models import DocumentType, Reason
    from notifications.tasks import relay

    customer.set_phone("13812345678")
    customer.save()
    application = make_draft(customer=customer, dealer=dealer)
    LoanApplication.objects.filter(pk=application.pk).update(stage=Stage.UNDER_REVIEW)
    application = LoanApplication.objects.get(pk=application.pk)

    own_redis["process"].terminate()
    own_redis["process"].wait(timeout=10)
    application = services.review_request_documents(  # the request succeeds without a broker
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.first()],
        reason=Reason.objects.filter(kind="document").first(),
    )
    assert application.stage == Stage.AWAITING_DOCUMENTS
    rows = Delivery.objects.filter(notification__kind=Kind.DOCUMENTS_REQUESTED)
    assert sorted(rows.values_list("status", flat=True)) == [DeliveryStatus.PENDING] * 2

    own_redis["process"] = _start_redis()
    # Beat would run the relay within a minute; here the test asks for it once the worker is back.
    wait_for(lambda: _queued(relay), timeout=30)
    wait_for(lambda: all_sent(rows), timeout=30)
    relay.delay()  # a second relay finds nothing left to send
    assert len(lines(sms_log)) == 1
    assert rows.count() == 2


def _queued(task) -> bool:
    try:
        task.delay()
    except Exception:
        return False
    return True
