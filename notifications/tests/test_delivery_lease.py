"""A delivery whose worker died: tried again within a minute, and sent at most once where the
provider can say what it accepted (Alibaba Cloud, Tencent Cloud), by the delivery's own
reference, the same on every try; e-mails carry a Message-ID made from the delivery.

The providers' SDK clients are replaced by fakes that keep what they accepted; a worker's death
is an exception no service catches, raised right after (or right before) the provider accepted
the message, which leaves the row as a SIGKILL would: "sending", claimed, never marked.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from common import sms
from common.sms.aliyun import AliyunSmsBackend
from common.sms.tencent import TencentSmsBackend
from notifications import channels
from notifications.choices import Channel, DeliveryStatus, Kind
from notifications.models import Delivery
from notifications.services import deliveries_due, delivery_send, lease, notification_create
from notifications.tasks import deliver

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """What a SIGKILL looks like to the row: the code after the provider call never runs."""


class FakeAliyun:
    """Alibaba Cloud's Dysmsapi client: SendSms and the number's send records (QuerySendDetails)."""

    def __init__(self):
        self.accepted: list[tuple[str, str]] = []  # (phone, OutId)
        self.asked = 0

    def send_sms(self, request):
        self.accepted.append((request.phone_numbers, request.out_id))
        return SimpleNamespace(body=SimpleNamespace(code="OK", request_id="req-1"))

    def query_send_details(self, request):
        self.asked += 1
        records = [
            SimpleNamespace(out_id=out_id) for phone, out_id in self.accepted if phone == request.phone_number
        ]
        return SimpleNamespace(
            body=SimpleNamespace(code="OK", sms_send_detail_dtos=SimpleNamespace(sms_send_detail_dto=records))
        )


class FakeTencent:
    """Tencent Cloud's SMS client: SendSms and the number's send statuses, SessionContext enabled."""

    def __init__(self):
        self.accepted: list[tuple[str, str]] = []  # (phone, SessionContext)
        self.asked = 0

    def SendSms(self, request):
        self.accepted.append((request.PhoneNumberSet[0], request.SessionContext))
        return SimpleNamespace(SendStatusSet=[SimpleNamespace(Code="Ok")], RequestId="req-1")

    def PullSmsSendStatusByPhoneNumber(self, request):
        self.asked += 1
        found = [
            SimpleNamespace(SessionContext=ctx)
            for phone, ctx in self.accepted
            if phone == request.PhoneNumber
        ]
        return SimpleNamespace(PullSmsSendStatusSet=found)


# The fake client of the test, and what the worker does around the provider call.
provider = SimpleNamespace(client=None, die="")


def _send_around(backend, send, **kwargs):
    if provider.die == "before":
        provider.die = ""
        raise WorkerKilled
    send(**kwargs)
    if provider.die == "after":
        provider.die = ""
        raise WorkerKilled


class AliyunForTests(AliyunSmsBackend):
    def __init__(self):
        super().__init__(client=provider.client)

    def send_message(self, **kwargs):
        _send_around(self, super().send_message, **kwargs)


class TencentForTests(TencentSmsBackend):
    def __init__(self):
        super().__init__(client=provider.client)

    def send_message(self, **kwargs):
        _send_around(self, super().send_message, **kwargs)


@pytest.fixture(params=["aliyun", "tencent"])
def fake_provider(request, settings):
    settings.SMS_BACKEND = f"notifications.tests.test_delivery_lease.{request.param.capitalize()}ForTests"
    settings.SMS_SIGN_NAME = "车贷进度通"
    settings.SMS_TEMPLATES = {"code": "T1", "notice": "T2", "signup_taken": "T3"}
    settings.TENCENT_SMS_SDK_APP_ID = "1400000000"
    settings.SMS_QUIET_HOURS = None
    provider.client = FakeAliyun() if request.param == "aliyun" else FakeTencent()
    provider.die = ""
    sms._backend_class.cache_clear()
    yield provider.client
    sms._backend_class.cache_clear()


@pytest.fixture
def sms_delivery(customer, settings):
    settings.SMS_QUIET_HOURS = None
    customer.set_phone("13812345678")
    customer.save()
    notification = notification_create(recipient_id=customer.pk, kind=Kind.OFFER_READY, dedupe_key="lease")
    return notification.deliveries.get(channel=Channel.SMS)


def died_mid_send(delivery, *, when: str, now: dt.datetime) -> None:
    provider.die = when
    with pytest.raises(WorkerKilled):
        delivery_send(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_at) == (DeliveryStatus.SENDING, now)


def test_a_claim_lasts_its_lease_and_the_relay_retries_within_a_minute(settings):
    assert lease() == dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    # Reclaimed at the first relay run after the lease: within lease + relay interval of the claim,
    # and the worker then needs a moment to send it: the two leave it ten seconds of the minute.
    assert settings.DELIVERY_LEASE_SECONDS + settings.DELIVERY_RELAY_INTERVAL <= 50
    assert settings.CELERY_BEAT_SCHEDULE["delivery-relay"]["schedule"] == settings.DELIVERY_RELAY_INTERVAL
    # The send ends inside the claim: the task's hard limit, and the e-mail timeout, are shorter.
    assert deliver.time_limit < settings.DELIVERY_LEASE_SECONDS
    assert settings.EMAIL_TIMEOUT < settings.DELIVERY_LEASE_SECONDS


def test_a_worker_that_died_after_the_provider_accepted_is_not_sent_twice(fake_provider, sms_delivery):
    claimed = timezone.now()
    died_mid_send(sms_delivery, when="after", now=claimed)
    assert len(fake_provider.accepted) == 1

    # Still within the lease: the relay leaves it alone (the worker might be alive and slow).
    assert sms_delivery.pk not in deliveries_due(now=claimed + lease() - dt.timedelta(seconds=1))
    later = claimed + lease() + dt.timedelta(seconds=1)
    assert sms_delivery.pk in deliveries_due(now=later)
    assert delivery_send(delivery_id=sms_delivery.pk, now=later) == "sent"

    assert len(fake_provider.accepted) == 1  # asked first, found, not sent again
    assert fake_provider.asked >= 1
    sms_delivery.refresh_from_db()
    assert (sms_delivery.status, sms_delivery.attempts) == (DeliveryStatus.SENT, 2)


def test_a_worker_that_died_before_the_provider_accepted_sends_once_after_the_lease(
    fake_provider, sms_delivery
):
    claimed = timezone.now()
    died_mid_send(sms_delivery, when="before", now=claimed)
    assert fake_provider.accepted == []

    later = claimed + lease() + dt.timedelta(seconds=1)
    assert sms_delivery.pk in deliveries_due(now=later)
    assert delivery_send(delivery_id=sms_delivery.pk, now=later) == "sent"
    assert delivery_send(delivery_id=sms_delivery.pk, now=later) == "skipped"  # the dead task's redelivery
    assert len(fake_provider.accepted) == 1


def test_the_reference_given_to_the_provider_is_the_delivery_and_the_same_on_every_try(
    fake_provider, sms_delivery
):
    claimed = timezone.now()
    died_mid_send(sms_delivery, when="after", now=claimed)
    # Even a second message (the provider could not say it had the first) carries the same reference.
    fake_provider.accepted.append(fake_provider.accepted[0])
    backend = sms.get_backend()
    backend.send(phone="13812345678", text="again", reference=channels.reference_of(sms_delivery))
    references = {reference for _phone, reference in fake_provider.accepted}
    assert references == {f"loanportal-delivery-{sms_delivery.pk}"}


def test_a_retry_waits_when_the_provider_cannot_say_what_it_accepted(fake_provider, sms_delivery):
    claimed = timezone.now()
    died_mid_send(sms_delivery, when="after", now=claimed)

    def unreachable(*args, **kwargs):
        raise sms.SmsTransientError("send records unreachable")

    backend_class = sms._backend_class(settings.SMS_BACKEND)
    later = claimed + lease() + dt.timedelta(seconds=1)
    deliveries_due(now=later)
    original = backend_class.was_sent
    backend_class.was_sent = unreachable
    try:
        with pytest.raises(channels.TransientDeliveryError):
            delivery_send(delivery_id=sms_delivery.pk, now=later)
    finally:
        backend_class.was_sent = original
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.PENDING and sms_delivery.due_at > later
    assert len(fake_provider.accepted) == 1  # nothing sent while it could not tell


def test_a_provider_that_cannot_say_is_sent_again_at_least_once(sms_delivery, settings):
    """A backend without send records (``was_sent`` None): the retry sends."""
    settings.SMS_BACKEND = "notifications.tests.test_delivery_lease.Forgetful"
    sms._backend_class.cache_clear()
    claimed = timezone.now()
    Delivery.objects.filter(pk=sms_delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=claimed, attempts=1
    )
    later = claimed + lease() + dt.timedelta(seconds=1)
    deliveries_due(now=later)
    assert delivery_send(delivery_id=sms_delivery.pk, now=later) == "sent"
    assert [sent.reference for sent in sms.outbox] == [f"loanportal-delivery-{sms_delivery.pk}"]
    sms._backend_class.cache_clear()


class Forgetful(sms.MemoryBackend):
    def was_sent(self, *, phone, reference, since):
        return None


def test_an_email_carries_a_message_id_made_from_the_delivery_on_every_try(customer, settings):
    settings.DEFAULT_FROM_EMAIL = "Loan Portal <noreply@loans.example.cn>"
    notification = notification_create(recipient_id=customer.pk, kind=Kind.OFFER_READY, dedupe_key="mid")
    delivery = notification.deliveries.get(channel=Channel.EMAIL)
    mail.outbox.clear()
    channels.send(delivery)
    channels.send(delivery)  # a second try (its first try's outcome unknown): the same identity
    ids = [message.message()["Message-ID"] for message in mail.outbox]
    assert ids == [f"<loanportal-delivery-{delivery.pk}@loans.example.cn>"] * 2
    assert channels.already_sent(delivery) is False  # SMTP cannot say: at least once
