"""The broker away during a transition: the transition commits at once, its messages wait in the
outbox, and the relay sends them once the broker is back.

Celery is pointed at a port where nothing listens (a stopped Redis) or at one that accepts and never
answers (a hung Redis), with production's broker settings: a short connection timeout, socket
timeouts, no publish retry, and ``common.broker`` leaving the broker alone for a while after a
failure.
"""

from __future__ import annotations

import socket
import time

import kombu.pools
import pytest
from django.conf import settings
from django.core import mail

from applications import services
from applications.choices import Stage
from applications.models import DocumentType, Reason
from applications.tests.factories import in_review
from common import broker, sms
from loanportal.celery import app
from notifications.choices import Channel, DeliveryStatus, Kind
from notifications.models import Delivery

pytestmark = pytest.mark.django_db


def _point_celery_at(url: str, transport_options: dict) -> None:
    """Switch this process's Celery app to another broker: drop every pooled connection."""
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    kombu.pools.reset()
    app.amqp._producer_pool = None


@pytest.fixture(params=["stopped", "hung"])
def broker_away(request):
    """Tasks really published (not run eagerly) to a broker that is away; everything restored after."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        if request.param == "hung":
            holder.listen(512)
        url = f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
        before = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)
        options = {
            "socket_connect_timeout": settings.BROKER_CONNECT_TIMEOUT,
            "socket_timeout": settings.BROKER_SOCKET_TIMEOUT,
            "max_retries": 0,
        }

        def go_away() -> str:
            """After the test's own setup, which runs its tasks in this process."""
            _point_celery_at(url, options)
            app.conf.task_always_eager = False
            broker.broker_reset()
            return request.param

        yield go_away
        app.conf.task_always_eager = before[2]
        _point_celery_at(before[0], before[1])
        broker.broker_reset()


@pytest.fixture
def texting_customer(customer, settings):
    customer.set_phone("13812345678")
    customer.save()
    settings.SMS_QUIET_HOURS = None
    return customer


def request_documents(application, reviewer):
    return services.review_request_documents(
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )


def timed_transition(application, reviewer, capture) -> float:
    started = time.monotonic()
    with capture(execute=True):  # the commit, and what runs on it: the deliveries are queued
        request_documents(application, reviewer)
    return time.monotonic() - started


# A ceiling, not a speed: a request that tries the broker waits at most its timeouts (the margin is
# for a busy machine); whether a request tries it at all is counted (``broker_attempts``).
AT_MOST = settings.BROKER_CONNECT_TIMEOUT + settings.BROKER_SOCKET_TIMEOUT + 2


@pytest.fixture
def broker_attempts(monkeypatch):
    """The publishes that reached Celery (``apply_async``): each one tries the broker."""
    from celery.app.task import Task

    attempts: list[str] = []
    real = Task.apply_async

    def counted(task, *args, **kwargs):
        attempts.append(task.name)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", counted)
    return attempts


def test_the_settings_never_retry_a_publish():
    assert settings.CELERY_TASK_PUBLISH_RETRY is False
    assert settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 1
    if settings.REDIS_URL:
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        assert options["socket_timeout"] <= 2 and options["socket_connect_timeout"] <= 1


def test_a_transition_commits_quickly_and_the_relay_sends_its_messages_later(
    broker_away, broker_attempts, texting_customer, dealer, reviewer, django_capture_on_commit_callbacks
):
    first, second = (in_review(texting_customer, dealer) for _ in range(2))
    mail.outbox.clear()
    sms.outbox.clear()
    broker_away()

    took = timed_transition(first, reviewer, django_capture_on_commit_callbacks)
    tried_first = len(broker_attempts)
    timed_transition(second, reviewer, django_capture_on_commit_callbacks)

    # The first request tries the broker once (refused at once, or a hung one's socket timeouts)
    # and leaves its other messages to the relay; the next does not try it (common.broker).
    assert tried_first == 1, broker_attempts
    assert took < AT_MOST
    assert len(broker_attempts) == tried_first, broker_attempts
    rows = Delivery.objects.filter(notification__kind=Kind.DOCUMENTS_REQUESTED)
    assert sorted(rows.values_list("status", flat=True)) == [DeliveryStatus.PENDING] * 4
    assert mail.outbox == [] and sms.outbox == []

    # The broker is back (here: tasks run in this process); beat's relay sends what waited, once.
    from notifications.tasks import relay

    app.conf.task_always_eager = True
    relay.delay()
    relay.delay()
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    # Each sent once (the relay also sent what the setup's files left waiting: nothing ran on commit there).
    references = {f"loanportal-delivery-{pk}" for pk in rows.values_list("pk", flat=True)}
    emailed = [m.extra_headers["X-Loanportal-Delivery"] for m in mail.outbox]
    texted = [sent.reference for sent in sms.outbox]
    assert sorted(r for r in emailed + texted if r in references) == sorted(references)
    assert rows.filter(channel=Channel.SMS).count() == 2


def test_a_submission_commits_with_the_broker_away_and_the_sweep_runs_its_pre_check(
    broker_away, customer, dealer, django_capture_on_commit_callbacks
):
    from applications.tasks import precheck_sweep
    from applications.tests.factories import REVIEW_DOCUMENTS, make_draft, upload

    application = make_draft(customer=customer, dealer=dealer)
    for code in REVIEW_DOCUMENTS:
        upload(application, code, actor=customer)
    broker_away()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(application=application, actor=customer)
    assert time.monotonic() - started < AT_MOST
    assert application.stage == Stage.SUBMITTED

    import datetime as dt

    import time_machine

    app.conf.task_always_eager = True
    with time_machine.travel(dt.timedelta(minutes=3)):  # the sweep looks for pre-checks 2 minutes late
        precheck_sweep.delay()
    application.refresh_from_db()
    assert application.stage != Stage.SUBMITTED


def test_the_sandbox_partners_answer_waits_on_a_broker_that_is_away_once(
    broker_away, broker_attempts, caplog
):
    """Requesting partner steps queues the sandbox partner's answer: through ``common.broker`` like
    every publish of a request, so after one failure the next request does not wait again."""
    from applications.tasks import enqueue_partner_sandbox
    from common.logging import reset_filters

    broker_away()
    reset_filters("common.broker")  # an earlier test's failure would hold this one's log back
    started = time.monotonic()
    enqueue_partner_sandbox(1)
    first = time.monotonic() - started
    assert len(broker_attempts) == 1
    enqueue_partner_sandbox(2)
    assert len(broker_attempts) == 1, "the second publish should not try the broker"
    assert first < AT_MOST
    assert any("sandbox partner's answer on step 1" in r.getMessage() for r in caplog.records)
