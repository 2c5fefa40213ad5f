"""Email and SMS deliveries: written with the notification, claimed once, sent once."""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from loanportal.settings.base import quiet_hours
from notifications import channels, sms
from notifications.choices import Channel, DeliveryStatus, Kind
from notifications.models import ChannelPreference, Delivery
from notifications.services import (
    deliveries_due,
    delivery_send,
    notification_create,
    quiet_hours_end,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 3, 2, 12, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def sms_log(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.sms.LogFileBackend"
    settings.SMS_LOG_FILE = tmp_path / "sms.log"
    return settings.SMS_LOG_FILE


@pytest.fixture
def with_phone(customer):
    customer.set_phone("13812345678")
    customer.language = "en"
    customer.save()
    return customer


def notify(user, kind=Kind.OFFER_READY, now=NOON, key="k"):
    return notification_create(recipient_id=user.pk, kind=kind, dedupe_key=key, now=now)


def channels_of(notification) -> dict[str, str]:
    return dict(notification.deliveries.values_list("channel", "status"))


def test_a_customer_notification_goes_by_email_and_sms(with_phone):
    assert channels_of(notify(with_phone)) == {Channel.EMAIL: "pending", Channel.SMS: "pending"}


def test_staff_reminders_never_go_by_sms(make_user):
    reviewer = make_user("rev", "reviewer")
    reviewer.set_phone("13912345678")
    reviewer.save()
    assert channels_of(notify(reviewer, kind=Kind.SLA_AT_RISK)) == {Channel.EMAIL: "pending"}


def test_preferences_switch_channels_off(with_phone):
    ChannelPreference.objects.create(user=with_phone, email=False, sms=False)
    assert channels_of(notify(with_phone)) == {}


@pytest.mark.parametrize(
    ("local", "until"),
    [((20, 59), None), ((21, 0), (3, 8, 0)), ((23, 30), (3, 8, 0)), ((7, 59), (2, 8, 0)), ((8, 0), None)],
)
def test_quiet_hours_run_from_nine_in_the_evening_to_eight_in_the_morning(local, until):
    moment = dt.datetime(2026, 3, 2, *local, tzinfo=SHANGHAI)
    expected = dt.datetime(2026, 3, until[0], until[1], until[2], tzinfo=SHANGHAI) if until else None
    assert quiet_hours_end(moment) == expected


@pytest.mark.parametrize(
    ("hours", "local", "until"),
    [
        ("12:00-14:00", (11, 59), None),
        ("12:00-14:00", (12, 0), (2, 14, 0)),
        ("12:00-14:00", (14, 0), None),
        ("22:30-07:00", (22, 0), None),
        ("22:30-07:00", (23, 0), (3, 7, 0)),
        ("", (23, 0), None),
    ],
)
def test_the_quiet_hours_are_a_setting(settings, hours, local, until):
    settings.SMS_QUIET_HOURS = quiet_hours(hours)
    moment = dt.datetime(2026, 3, 2, *local, tzinfo=SHANGHAI)
    expected = dt.datetime(2026, 3, until[0], until[1], until[2], tzinfo=SHANGHAI) if until else None
    assert quiet_hours_end(moment) == expected


@pytest.mark.parametrize("value", ["21:00", "9pm-8am", "08:00-08:00"])
def test_quiet_hours_that_cannot_be_read_stop_the_start(value):
    with pytest.raises(ImproperlyConfigured, match="SMS_QUIET_HOURS"):
        quiet_hours(value)


def test_an_sms_in_quiet_hours_is_deferred_to_eight_not_dropped(with_phone, sms_log):
    late = dt.datetime(2026, 3, 2, 22, tzinfo=SHANGHAI)
    notification = notify(with_phone, now=late)
    delivery = notification.deliveries.get(channel=Channel.SMS)
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.due_at == dt.datetime(2026, 3, 3, 8, tzinfo=SHANGHAI)
    assert delivery_send(delivery_id=delivery.pk, now=late + dt.timedelta(hours=1)) == "skipped"
    assert delivery.pk not in deliveries_due(now=dt.datetime(2026, 3, 3, 7, 59, tzinfo=SHANGHAI))
    assert delivery.pk in deliveries_due(now=dt.datetime(2026, 3, 3, 8, tzinfo=SHANGHAI))
    assert delivery_send(delivery_id=delivery.pk, now=dt.datetime(2026, 3, 3, 8, tzinfo=SHANGHAI)) == "sent"


def test_a_delivery_is_sent_once_however_often_it_is_asked(with_phone, sms_log):
    delivery = notify(with_phone).deliveries.get(channel=Channel.SMS)
    results = [delivery_send(delivery_id=delivery.pk) for _ in range(3)]
    assert results == ["sent", "skipped", "skipped"]
    assert len(sms_log.read_text().splitlines()) == 1


def test_the_sms_says_no_amount_and_no_full_number(with_phone, sms_log, draft):
    notification = notification_create(
        recipient_id=with_phone.pk, kind=Kind.OFFER_READY, dedupe_key="offer", application=draft, now=NOON
    )
    delivery_send(delivery_id=notification.deliveries.get(channel=Channel.SMS).pk, now=NOON)
    line = sms_log.read_text()
    assert "13812345678" not in line and "138****5678" in line
    assert draft.display_reference in line and "Your offer is ready" in line
    assert "¥" not in line and str(int(draft.requested_amount)) not in line


@pytest.mark.parametrize(
    ("language", "cause", "remedy"),
    [
        ("en", "Some details need further checking", "please keep your phone at hand."),
        ("zh-hans", "需要进一步核实信息", "请保持电话畅通。"),
    ],
)
def test_a_delay_notice_by_email_and_sms_carries_the_cause_and_its_remedy(
    with_phone, sms_log, draft, language, cause, remedy
):
    with_phone.language = language
    with_phone.save()
    notification = notification_create(
        recipient_id=with_phone.pk,
        kind=Kind.DELAY_NOTICE,
        dedupe_key="delay",
        application=draft,
        context={"stage": "under_review", "reason": "additional_verification"},
        now=NOON,
    )
    for channel in (Channel.EMAIL, Channel.SMS):
        delivery_send(delivery_id=notification.deliveries.get(channel=channel).pk, now=NOON)
    for text in (mail.outbox[0].body, sms_log.read_text()):
        assert draft.display_reference in text and cause in text and remedy in text


def test_email_is_written_in_the_recipients_language(customer):
    customer.language = "zh-hans"
    customer.save()
    delivery = notify(customer).deliveries.get(channel=Channel.EMAIL)
    assert delivery_send(delivery_id=delivery.pk) == "sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [customer.email]


class Flaky(sms.SmsBackend):
    def send(self, *, phone, text, reference):
        raise sms.SmsTransientError("provider busy")


def test_a_transient_failure_waits_with_backoff_then_fails_after_the_bound(with_phone, settings):
    settings.SMS_BACKEND = "notifications.tests.test_delivery.Flaky"
    sms._backend_class.cache_clear()
    delivery = notify(with_phone).deliveries.get(channel=Channel.SMS)
    with pytest.raises(channels.TransientDeliveryError):
        delivery_send(delivery_id=delivery.pk, now=NOON)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.due_at == NOON + dt.timedelta(seconds=5)
    moment = NOON
    for _ in range(5):
        moment += dt.timedelta(minutes=5)
        with contextlib.suppress(channels.TransientDeliveryError):
            delivery_send(delivery_id=delivery.pk, now=moment)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 6)
    sms._backend_class.cache_clear()


def test_a_row_left_sending_by_a_dead_worker_is_reclaimed_after_its_lease(with_phone, settings):
    lease = dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    delivery = notify(with_phone).deliveries.get(channel=Channel.SMS)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=NOON)
    assert delivery.pk not in deliveries_due(now=NOON + lease - dt.timedelta(seconds=1))
    assert delivery.pk in deliveries_due(now=NOON + lease + dt.timedelta(seconds=1))
    assert delivery_send(delivery_id=delivery.pk, now=NOON + lease + dt.timedelta(seconds=1)) == "sent"
