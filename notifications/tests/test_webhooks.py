"""Dealers' webhooks: written with the stage change, signed as documented, retried for a day."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from applications import services as core
from applications.hooks import StageChange
from applications.models import Dealer, DocumentType, Reason, StageEvent
from applications.tests.factories import in_review, make_draft
from notifications.tests.webhook_receiver import start_receiver, stop_receiver
from notifications.webhooks import services
from notifications.webhooks.choices import WebhookEvent, WebhookStatus
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks.validators import validate_webhook_url

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
README = Path(__file__).resolve().parents[2] / "README.md"
ALL_EVENTS = [choice.value for choice in WebhookEvent]


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    stop_receiver(receiver)


@pytest.fixture
def endpoint(dealer, receiver):
    endpoint, _secret = services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    return endpoint


def verify_webhook():
    """The verification function of README's "Webhooks" section, run from the README's own text."""
    text = README.read_text()
    marker = text.index("<!-- webhook-verification-snippet")
    code = re.search(r"```python\n(.*?)```", text[marker:], re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md (webhook snippet)", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace["verify_webhook"]


def request_documents(application, reviewer):
    return core.review_request_documents(
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )


def in_review_at(customer, dealer, moment):
    with time_machine.travel(moment, tick=False):
        return in_review(customer, dealer)


def one_delivery(customer, dealer, reviewer, *, at=T0, events=(WebhookEvent.DOCUMENTS_REQUESTED,), url=None):
    """A documents request at ``at`` for an endpoint wanting ``events``: its one delivery."""
    application = in_review_at(customer, dealer, at - dt.timedelta(hours=1))
    endpoint, secret = services.webhook_endpoint_create(dealer=dealer, url=url, events=events)
    with time_machine.travel(at, tick=False):
        request_documents(application, reviewer)
    return WebhookDelivery.objects.get(endpoint=endpoint), secret


# --- Which URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://dms.example.cn/hooks",
        "https://dms.example.cn:8443/loan-portal?k=1",
        "https://93.184.215.14/h",
    ],
)
def test_public_https_urls_are_accepted(url, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    settings.DEBUG = False
    validate_webhook_url(url)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://dms.example.cn/hooks", "scheme"),
        ("http://127.0.0.1:9000/hooks", "local"),
        ("https://127.0.0.1/hooks", "local"),
        ("https://localhost/hooks", "local"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.1.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[fd00::1]/hooks", "private"),
        ("https://user:pass@dms.example.cn/hooks", "credentials"),
        ("ftp://dms.example.cn/hooks", "invalid"),
        ("not a url", "invalid"),
    ],
)
def test_in_production_only_public_https_urls_are_accepted(url, code, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    settings.DEBUG = False
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)
    assert refused.value.code == code


@pytest.mark.parametrize(("debug", "allow"), [(True, False), (False, True)])
def test_plain_http_to_this_machine_is_accepted_in_development_and_tests(debug, allow, settings):
    settings.DEBUG, settings.WEBHOOK_ALLOW_LOCAL_HTTP = debug, allow
    validate_webhook_url("http://127.0.0.1:8001/hooks")
    validate_webhook_url("http://localhost:8001/hooks")
    with pytest.raises(ValidationError):
        validate_webhook_url("http://10.0.0.2/hooks")  # still not another machine in plain text


def test_an_endpoint_with_a_refused_url_is_not_saved(dealer, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    with pytest.raises(ValidationError):
        services.webhook_endpoint_create(dealer=dealer, url="http://127.0.0.1/h", events=ALL_EVENTS)
    assert not WebhookEndpoint.objects.exists()


# --- The outbox: written with the change ----------------------------------------------------------


def test_a_stage_change_writes_one_delivery_per_endpoint_and_event(customer, dealer, reviewer, receiver):
    application = in_review(customer, dealer)
    everything, _ = services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    stages_only, _ = services.webhook_endpoint_create(
        dealer=dealer, url=receiver.url, events=[WebhookEvent.STAGE_CHANGED]
    )
    offers_only, _ = services.webhook_endpoint_create(
        dealer=dealer, url=receiver.url, events=[WebhookEvent.OFFER_READY]
    )
    switched_off, _ = services.webhook_endpoint_create(
        dealer=dealer, url=receiver.url, events=ALL_EVENTS, active=False
    )
    other_dealer = Dealer.objects.create(code="sz-other", name="Other dealership", region="Shenzhen")
    theirs, _ = services.webhook_endpoint_create(dealer=other_dealer, url=receiver.url, events=ALL_EVENTS)

    request_documents(application, reviewer)

    written = sorted(WebhookDelivery.objects.values_list("endpoint_id", "event_type"))
    assert written == sorted(
        [
            (everything.pk, WebhookEvent.STAGE_CHANGED),
            (everything.pk, WebhookEvent.DOCUMENTS_REQUESTED),
            (stages_only.pk, WebhookEvent.STAGE_CHANGED),
        ]
    )
    # One event id per event, the same for every endpoint that gets it.
    assert WebhookDelivery.objects.values("event_id").distinct().count() == 2
    assert not WebhookDelivery.objects.filter(endpoint__in=[offers_only, switched_off, theirs]).exists()


def test_the_body_speaks_the_customers_words_and_carries_no_personal_data(customer, dealer, reviewer):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url="https://dms.example.cn/hooks")
    document = json.loads(delivery.body)
    application = delivery.application
    assert document["id"] == str(delivery.event_id)
    assert document["type"] == "application.documents_requested"
    assert document["occurred_at"] == "2026-03-02T02:00:00.000Z"
    data = document["data"]
    assert data["application"] == {"reference": application.display_reference, "dealer": dealer.code}
    assert data["stage"]["code"] == "awaiting_documents"
    assert data["stage"]["title"] == {"zh-hans": "等待补充资料", "en": "Waiting for your documents"}
    assert data["previous_stage"]["code"] == "under_review"
    assert data["milestone"]["number"] == 2
    assert data["milestone"]["title"]["en"] == "Credit assessment & review"
    assert data["what_happened"]["en"] == "The credit review needs more documents from you"
    assert data["reason"]["code"] == "more_income_proof"
    assert [d["code"] for d in data["documents"]] == ["bank_statement"]
    applicant = application.applicant
    for personal in (
        applicant.full_name,
        applicant.phone,
        applicant.id_number,
        customer.username,
        customer.email,
    ):
        assert personal
        assert personal not in delivery.body


def test_every_stage_change_has_its_event_and_disbursement_its_own(customer, dealer, reviewer, receiver):
    services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    in_review(customer, dealer)  # submitted, pre-check started, pre-check passed
    types = list(WebhookDelivery.objects.order_by("occurred_at", "pk").values_list("event_type", flat=True))
    assert types == [WebhookEvent.STAGE_CHANGED] * 3  # the draft's creation is none


def test_running_the_hook_again_writes_nothing_twice(customer, dealer, reviewer, endpoint):
    application = request_documents(in_review(customer, dealer), reviewer)
    before = WebhookDelivery.objects.count()
    event = StageEvent.objects.filter(application=application, kind="transition").latest("sequence")
    change = StageChange.of(event, customer_id=customer.pk)
    assert services.webhook_deliveries_create(change=change) == []
    assert WebhookDelivery.objects.count() == before


def test_a_rolled_back_transition_writes_no_delivery(customer, dealer, reviewer, endpoint):
    application = in_review(customer, dealer)
    before = WebhookDelivery.objects.count()

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        request_documents(application, reviewer)
        assert WebhookDelivery.objects.count() == before + 2  # written in the change's transaction
        raise Abandoned
    assert WebhookDelivery.objects.count() == before


def test_deliveries_are_queued_only_after_commit(
    customer, dealer, reviewer, endpoint, receiver, django_capture_on_commit_callbacks
):
    application = in_review(customer, dealer)
    earlier = list(WebhookDelivery.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_documents(application, reviewer)
    assert receiver.posts == []  # nothing posted inside the transaction
    for callback in callbacks:
        callback()  # the commit: tasks run eagerly in the unit tests
    assert sorted(json.loads(p.body)["type"] for p in receiver.posts) == [
        "application.documents_requested",
        "application.stage_changed",
    ]
    new = WebhookDelivery.objects.exclude(pk__in=earlier)
    assert list(new.values_list("status", flat=True)) == [WebhookStatus.DELIVERED] * 2


def test_the_secret_is_stored_encrypted(dealer):
    endpoint, secret = services.webhook_endpoint_create(
        dealer=dealer, url="https://dms.example.cn/h", events=ALL_EVENTS
    )
    assert secret.startswith("whsec_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


# --- Posting: signed as the README says -----------------------------------------------------------


def test_a_post_is_signed_as_the_readme_documents(customer, dealer, reviewer, receiver):
    delivery, secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    with time_machine.travel(T0 + dt.timedelta(seconds=3), tick=False):
        assert services.webhook_delivery_send(delivery_id=delivery.pk) == "delivered"
    [post] = receiver.posts
    assert post.body == delivery.body.encode()
    assert post.headers["Webhook-Id"] == str(delivery.event_id)
    assert post.headers["Webhook-Timestamp"] == str(int((T0 + dt.timedelta(seconds=3)).timestamp()))
    assert re.fullmatch(r"v1=[0-9a-f]{64}", post.headers["Webhook-Signature"])
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"

    verify = verify_webhook()
    at = T0.timestamp() + 60
    assert verify(secret, post.headers, post.body, now=at)
    assert not verify("whsec_another", post.headers, post.body, now=at)
    assert not verify(secret, post.headers, post.body.replace(b"awaiting", b"approval"), now=at)
    assert not verify(secret, post.headers, post.body, now=T0.timestamp() + 3 + 301)  # too old: a replay
    assert not verify(secret, {**post.headers, "Webhook-Timestamp": str(int(at))}, post.body, now=at)
    assert not verify(secret, {}, post.body, now=at)


def test_the_answer_is_kept_on_the_row(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    receiver.answers[:] = [202]
    with time_machine.travel(T0, tick=False):
        services.webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (WebhookStatus.DELIVERED, 1, 202)
    assert delivery.response_body == "answer 202"
    assert delivery.delivered_at == T0


def test_a_second_send_of_the_same_delivery_posts_nothing(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    with time_machine.travel(T0, tick=False):
        assert services.webhook_delivery_send(delivery_id=delivery.pk) == "delivered"
        assert services.webhook_delivery_send(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.posts) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    receiver.answers[:] = [302]
    with time_machine.travel(T0, tick=False):
        assert services.webhook_delivery_send(delivery_id=delivery.pk) == "retry"
    assert [p.path for p in receiver.posts] == ["/hooks/"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status, delivery.due_at) == (
        WebhookStatus.PENDING,
        302,
        T0 + MINUTE,
    )


def test_no_answer_is_a_failure_with_the_error_kept(customer, dealer, reviewer, receiver):
    stop_receiver(receiver)  # nothing listens there any more
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    with time_machine.travel(T0, tick=False):
        assert services.webhook_delivery_send(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.response_status is None
    assert "ConnectionError" in delivery.last_error


def test_a_slow_receiver_is_given_up_on_after_the_timeout(customer, dealer, reviewer, monkeypatch):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts the connection, never answers
    monkeypatch.setattr(services, "TIMEOUT", 0.3)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
        delivery, _secret = one_delivery(customer, dealer, reviewer, url=url)
        with time_machine.travel(T0, tick=False):
            assert services.webhook_delivery_send(delivery_id=delivery.pk) == "retry"
    finally:
        listener.close()
    delivery.refresh_from_db()
    assert "Timeout" in delivery.last_error


# --- Retries: exponential backoff for 24 hours, then failed ---------------------------------------


def test_failed_posts_are_retried_with_exponential_backoff_for_a_day_then_failed(
    customer, dealer, reviewer, receiver
):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    receiver.answers[:] = [503]
    waits, outcome, moment = [], "retry", T0
    while outcome == "retry":
        assert services.webhook_deliveries_due(now=moment - dt.timedelta(seconds=1)) == []  # not before
        with time_machine.travel(moment, tick=False):
            assert services.webhook_deliveries_due() == [delivery.pk]  # the relay finds it when due
            outcome = services.webhook_delivery_send(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        if outcome == "retry":
            waits.append(delivery.due_at - moment)
            moment = delivery.due_at
    minutes = [wait / MINUTE for wait in waits]
    assert minutes[:8] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert set(minutes[6:-1]) == {60}
    assert moment == T0 + dt.timedelta(hours=24)  # the last attempt: a day after the event
    assert outcome == "failed"
    assert (delivery.status, delivery.attempts, delivery.response_status) == (WebhookStatus.FAILED, 30, 503)
    assert len(receiver.posts) == 30
    assert len({p.headers["Webhook-Id"] for p in receiver.posts}) == 1
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        assert services.webhook_deliveries_due() == []


def test_a_retry_that_succeeds_delivers(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    receiver.answers[:] = [500, 500, 200]
    moment = T0
    for expected in ("retry", "retry", "delivered"):
        with time_machine.travel(moment, tick=False):
            assert services.webhook_delivery_send(delivery_id=delivery.pk) == expected
        delivery.refresh_from_db()
        moment = delivery.due_at
    assert (delivery.status, delivery.attempts, delivery.last_error) == (WebhookStatus.DELIVERED, 3, "")


def test_a_worker_that_died_mid_post_leaves_the_row_to_the_relay(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookStatus.SENDING, claimed_at=T0)
    assert services.webhook_deliveries_due(now=T0 + MINUTE) == []
    assert services.webhook_deliveries_due(now=T0 + 3 * MINUTE) == [delivery.pk]
    assert services.webhook_delivery_send(delivery_id=delivery.pk, now=T0 + 3 * MINUTE) == "delivered"


def test_a_switched_off_endpoint_gets_no_more_posts(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    WebhookEndpoint.objects.update(active=False)
    assert services.webhook_delivery_send(delivery_id=delivery.pk, now=T0) == "failed"
    assert receiver.posts == []


# --- Send again -----------------------------------------------------------------------------------


def test_send_again_makes_a_new_attempt_on_the_same_row(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    services.webhook_delivery_send(delivery_id=delivery.pk, now=T0)
    later = T0 + dt.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        assert services.webhook_deliveries_send_again(delivery_ids=[delivery.pk]) == 1
    # The unit tests run tasks eagerly but the queueing waits for a commit: send it as the task would.
    assert services.webhook_delivery_send(delivery_id=delivery.pk, now=later) == "delivered"
    assert WebhookDelivery.objects.count() == 1
    assert [p.headers["Webhook-Id"] for p in receiver.posts] == [str(delivery.event_id)] * 2
    assert receiver.posts[0].body == receiver.posts[1].body
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.delivered_at) == (2, later)


def test_send_again_of_a_failed_delivery_is_one_attempt(customer, dealer, reviewer, receiver):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url=receiver.url)
    receiver.answers[:] = [500]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookStatus.FAILED, attempts=30)
    later = T0 + dt.timedelta(days=2)
    services.webhook_deliveries_send_again(delivery_ids=[delivery.pk], now=later)
    assert services.webhook_delivery_send(delivery_id=delivery.pk, now=later) == "failed"
    assert services.webhook_deliveries_due(now=later + dt.timedelta(days=1)) == []


# --- Rotating the secret --------------------------------------------------------------------------


def test_during_a_rotations_overlap_posts_carry_both_signatures_then_only_the_new(
    customer, dealer, reviewer, receiver
):
    delivery, old = one_delivery(customer, dealer, reviewer, url=receiver.url)
    new = services.webhook_endpoint_rotate_secret(endpoint_id=delivery.endpoint_id, now=T0)
    assert new != old
    verify = verify_webhook()

    services.webhook_delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(hours=23))
    post = receiver.posts[-1]
    new_part, old_part = post.headers["Webhook-Signature"].split(",")
    at = (T0 + dt.timedelta(hours=23)).timestamp()
    assert verify(new, {**post.headers, "Webhook-Signature": new_part}, post.body, now=at)
    assert verify(old, {**post.headers, "Webhook-Signature": old_part}, post.body, now=at)
    assert verify(old, post.headers, post.body, now=at)  # a receiver still holding the old secret

    services.webhook_deliveries_send_again(delivery_ids=[delivery.pk], now=T0 + dt.timedelta(hours=25))
    services.webhook_delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(hours=25))
    post = receiver.posts[-1]
    at = (T0 + dt.timedelta(hours=25)).timestamp()
    assert "," not in post.headers["Webhook-Signature"]
    assert verify(new, post.headers, post.body, now=at)
    assert not verify(old, post.headers, post.body, now=at)


def test_a_second_rotation_keeps_at_most_two_secrets(dealer):
    endpoint, first = services.webhook_endpoint_create(
        dealer=dealer, url="https://dms.example.cn/h", events=ALL_EVENTS
    )
    second = services.webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=T0)
    third = services.webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=T0 + MINUTE)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets(T0 + 2 * MINUTE) == [third, second]
    assert first not in endpoint.signing_secrets(T0 + 2 * MINUTE)


def test_a_rotation_without_overlap_drops_the_old_secret_at_once(dealer):
    endpoint, _first = services.webhook_endpoint_create(
        dealer=dealer, url="https://dms.example.cn/h", events=ALL_EVENTS
    )
    new = services.webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk, overlap=dt.timedelta(0), now=T0)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets(T0) == [new]


def test_a_draft_without_a_dealer_writes_nothing(customer, receiver, dealer):
    services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    application = make_draft(customer=customer, dealer=dealer)
    assert application.dealer_id == dealer.pk
    assert not WebhookDelivery.objects.exists()  # a draft's creation is no event


def test_a_name_that_now_resolves_inside_our_network_is_not_called(customer, dealer, reviewer, monkeypatch):
    delivery, _secret = one_delivery(customer, dealer, reviewer, url="https://dms.example.cn/hooks")
    posted = []
    monkeypatch.setattr(services, "post", lambda **kwargs: posted.append(kwargs))
    monkeypatch.setattr(
        services.socket, "getaddrinfo", lambda *args, **kwargs: [(2, 1, 6, "", ("10.0.0.5", 443))]
    )
    assert services.webhook_delivery_send(delivery_id=delivery.pk, now=T0) == "retry"
    assert posted == []
    delivery.refresh_from_db()
    assert (
        delivery.last_error == "Refused: dms.example.cn resolves to a private or reserved address (10.0.0.5)."
    )


def test_the_secrets_are_encrypted_again_under_a_new_key(dealer, settings):
    from io import StringIO

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    endpoint, secret = services.webhook_endpoint_create(
        dealer=dealer, url="https://dms.example.cn/h", events=ALL_EVENTS
    )
    old_keys = list(settings.PII_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("webhook_secrets_reencrypt", stdout=StringIO())
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key removed
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_delivery_at_once_post_it_once(customer, dealer, receiver):
    import threading

    from django.db import connections

    # A row as the hook writes it (a transactional test runs the pre-check on commit: no factory).
    endpoint, _secret = services.webhook_endpoint_create(dealer=dealer, url=receiver.url, events=ALL_EVENTS)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        application=make_draft(customer=customer, dealer=dealer),
        event_type=WebhookEvent.STAGE_CHANGED,
        body="{}",
        occurred_at=T0,
        due_at=T0,
        retry_until=T0 + dt.timedelta(hours=24),
    )
    start = threading.Barrier(2)
    outcomes = []

    def worker():
        start.wait()
        try:
            outcomes.append(services.webhook_delivery_send(delivery_id=delivery.pk, now=T0))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["delivered", "skipped"]
    assert len(receiver.posts) == 1
