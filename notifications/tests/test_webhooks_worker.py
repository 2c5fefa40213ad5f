"""End to end through Redis and a real Celery worker process: each event is posted once.

The dealer's receiver is a small HTTP server on 127.0.0.1 in this process; the worker (another
process) posts to it.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.utils import timezone

from applications import services as core
from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import make_draft
from conftest import wait_for
from notifications.tests.webhook_receiver import start_receiver, stop_receiver
from notifications.webhooks import services
from notifications.webhooks.choices import WebhookEvent, WebhookStatus
from notifications.webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ALL_EVENTS = [choice.value for choice in WebhookEvent]


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    stop_receiver(receiver)


def delivered(rows) -> bool:
    return rows.exists() and not rows.exclude(status=WebhookStatus.DELIVERED).exists()


def test_each_event_is_posted_exactly_once_however_often_it_is_queued(
    celery_worker_process, receiver, customer, dealer
):
    from notifications.webhooks.tasks import webhook_deliver, webhook_relay

    endpoint, secret = services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    application = make_draft(customer=customer, dealer=dealer)
    core.application_submit(application=application, actor=customer)
    # The worker runs the pre-check, which asks for documents: four events, each posted by the worker.
    wait_for(lambda: LoanApplication.objects.get(pk=application.pk).stage == Stage.AWAITING_DOCUMENTS)
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    wait_for(lambda: rows.count() == 4 and delivered(rows), timeout=30)

    # Queued again and again (a retried task, the relay, a second worker's copy): claimed once.
    for pk in rows.values_list("pk", flat=True):
        webhook_deliver.delay(pk)
        webhook_deliver.delay(pk)
    webhook_relay.delay()
    # A last event after them: the worker takes tasks in order, so once it is posted, the copies
    # before it have been handled.
    core.application_withdraw(application=LoanApplication.objects.get(pk=application.pk), actor=customer)
    wait_for(lambda: rows.count() == 5 and delivered(rows), timeout=30)

    posted = Counter(post.headers["Webhook-Id"] for post in receiver.posts)
    assert sorted(posted.values()) == [1] * 5
    assert set(posted) == {str(pk) for pk in rows.values_list("event_id", flat=True)}
    assert set(rows.values_list("attempts", flat=True)) == {1}
    types = sorted(json.loads(post.body)["type"] for post in receiver.posts)
    assert types == sorted(
        [
            "application.stage_changed",  # submitted
            "application.stage_changed",  # pre-check started
            "application.stage_changed",  # documents needed
            "application.documents_requested",
            "application.stage_changed",  # withdrawn
        ]
    )
    assert all(post.headers["Webhook-Signature"].startswith("v1=") for post in receiver.posts)
    assert secret


def test_a_failed_post_waits_in_its_row_and_the_relay_sends_it_when_due(
    celery_worker_process, receiver, customer, dealer
):
    from notifications.webhooks.tasks import webhook_relay

    receiver.answers[:] = [503, 204]
    endpoint, _secret = services.webhook_endpoint_create(
        dealer=dealer, url=receiver.url, events=[WebhookEvent.STAGE_CHANGED]
    )
    application = make_draft(customer=customer, dealer=dealer)
    LoanApplication.objects.filter(pk=application.pk).update(stage=Stage.OFFER_PENDING)
    core.offer_decline(application=LoanApplication.objects.get(pk=application.pk), actor=customer)
    row = WebhookDelivery.objects.filter(endpoint=endpoint)
    wait_for(lambda: row.filter(attempts=1, status=WebhookStatus.PENDING).exists())
    failed = row.get()
    assert (failed.response_status, failed.response_body) == (503, "answer 503")
    assert 55 <= (failed.due_at - failed.last_attempt_at).total_seconds() <= 60  # a minute later

    # A minute on (here: the wait cut short), beat's relay finds it due and the worker posts it.
    row.update(due_at=timezone.now())
    webhook_relay.delay()
    wait_for(lambda: delivered(row))
    assert [post.headers["Webhook-Id"] for post in receiver.posts] == [str(failed.event_id)] * 2
    assert row.get().attempts == 2
