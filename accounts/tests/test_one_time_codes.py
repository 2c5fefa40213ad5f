"""One-time codes: six digits, kept only as a keyed hash, five minutes, one use, five tries, a new
one after a minute, limits per number and per client address; a failing provider is retried and
reported without the code or the number."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from accounts.otp.models import OneTimeCode, Purpose
from accounts.otp.services import CodeInvalid, CodeNotSent, CodeRefused, code_send, code_verify, codes_purge
from common import sms

from .builders import PHONE, last_code, texts_to

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
IP = "198.51.100.4"


def send(phone=PHONE, purpose=Purpose.SIGN_IN, ip=IP, **kwargs):
    return code_send(purpose=purpose, phone=phone, client_ip=ip, **kwargs)


def verify(code, phone=PHONE, purpose=Purpose.SIGN_IN, **kwargs):
    return code_verify(purpose=purpose, phone=phone, code=code, **kwargs)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_six_digits_texted_and_kept_only_as_a_keyed_hash():
    row = send()

    code = last_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    assert code in texts_to(PHONE)[0].message.text
    stored = OneTimeCode.objects.filter(pk=row.pk).values().get()
    assert not any(code in str(value) for value in stored.values())
    assert len(stored["code_hash"]) == 64 and PHONE not in stored["target_hash"]


def test_the_right_code_works_once():
    send()
    code = last_code(PHONE)

    assert verify(code).closed_at is not None
    with pytest.raises(CodeInvalid):
        verify(code)


def test_a_code_typed_in_full_width_digits_is_the_same_code():
    send()
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in last_code(PHONE))
    verify(full_width)


def test_a_code_lasts_five_minutes():
    with time_machine.travel(START, tick=False) as traveller:
        send()
        first = last_code(PHONE)
        traveller.shift(dt.timedelta(minutes=4, seconds=59))
        verify(first)  # still valid at 4:59

        traveller.shift(dt.timedelta(minutes=1))
        send()
        second = last_code(PHONE)
        traveller.shift(dt.timedelta(minutes=5))
        with pytest.raises(CodeInvalid) as refused:
            verify(second)
        assert not refused.value.exhausted


def test_five_wrong_tries_use_the_code_up_even_for_the_right_one():
    send()
    code = last_code(PHONE)
    for attempt in range(1, 6):
        with pytest.raises(CodeInvalid) as refused:
            verify(wrong(code))
        assert refused.value.exhausted == (attempt == 5)
    with pytest.raises(CodeInvalid) as refused:
        verify(code)
    assert refused.value.exhausted
    assert OneTimeCode.objects.get().attempts == 5


def test_a_new_code_waits_a_minute_and_then_replaces_the_old_one():
    with time_machine.travel(START, tick=False) as traveller:
        send()
        old = last_code(PHONE)
        with pytest.raises(CodeRefused) as refused:
            send()
        assert refused.value.wait == 60
        traveller.shift(dt.timedelta(seconds=59))
        with pytest.raises(CodeRefused) as refused:
            send()
        assert refused.value.wait == 1
        send(purpose=Purpose.RESET)  # another purpose has its own minute

        traveller.shift(dt.timedelta(seconds=1))
        send()
        new = last_code(PHONE)
        with pytest.raises(CodeInvalid):
            verify(old)
        verify(new)


def test_a_number_gets_at_most_five_codes_an_hour_from_any_address(settings):
    with time_machine.travel(START, tick=False) as traveller:
        for minute in range(5):
            send(ip=f"198.51.100.{minute}")
            traveller.shift(dt.timedelta(minutes=1))
        with pytest.raises(CodeRefused) as refused:
            send(ip="203.0.113.99")
        assert refused.value.wait is None
        assert len(texts_to(PHONE)) == 5

        traveller.shift(dt.timedelta(minutes=56))  # the first is more than an hour old
        send(ip="203.0.113.99")


def test_an_address_may_ask_for_so_many_codes_an_hour_whatever_the_numbers(settings):
    settings.OTP_PER_ADDRESS_PER_HOUR = 3
    for number in ("13900000001", "13900000002", "13900000003"):
        send(phone=number)
    with pytest.raises(CodeRefused):
        send(phone="13900000004")
    assert texts_to("13900000004") == []
    send(phone="13900000004", ip="203.0.113.5")  # another client


def test_a_code_confirms_only_what_it_was_sent_for():
    send(purpose=Purpose.TRACK, context="ABCDE12345")
    code = last_code(PHONE)
    with pytest.raises(CodeInvalid):
        verify(code, purpose=Purpose.TRACK, context="ZZZZZ99999")
    with pytest.raises(CodeInvalid):
        verify(code, purpose=Purpose.SIGN_IN, context="ABCDE12345")
    verify(code, purpose=Purpose.TRACK, context="ABCDE12345")


def test_a_stand_in_sends_nothing_matches_nothing_and_counts_like_a_code():
    send(deliver=False)

    assert texts_to(PHONE) == []
    with pytest.raises(CodeInvalid):
        verify("123456")
    with pytest.raises(CodeRefused):  # the same minute's wait as a real code
        send(deliver=False)


class FlakyTwice(sms.SmsBackend):
    failures = 0

    def send_message(self, *, phone, message, reference):
        if FlakyTwice.failures < 2:
            FlakyTwice.failures += 1
            raise sms.SmsTransientError("provider busy")
        sms.outbox.append(sms.SentSms(phone=phone, message=message, reference=reference))


class Down(sms.SmsBackend):
    codes: list[str] = []

    def send_message(self, *, phone, message, reference):
        Down.codes.append(message.params["code"])
        raise sms.SmsTransientError("HTTP 503 from the provider")


@pytest.fixture
def backend(settings):
    def use(cls):
        settings.SMS_BACKEND = f"{__name__}.{cls.__name__}"
        sms._backend_class.cache_clear()

    yield use
    sms._backend_class.cache_clear()


def test_a_passing_provider_failure_is_retried_and_the_code_arrives(backend, caplog):
    backend(FlakyTwice)
    FlakyTwice.failures = 0
    with caplog.at_level(logging.WARNING, logger="common.sms"):
        send()
    code = last_code(PHONE)
    verify(code)
    assert len([record for record in caplog.records if "try" in record.getMessage()]) == 2


def test_a_provider_that_stays_down_is_reported_without_the_code_or_the_number(backend, caplog):
    backend(Down)
    with caplog.at_level(logging.WARNING, logger="common.sms"), pytest.raises(CodeNotSent):
        send()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "138****5678" in logged and "HTTP 503" in logged and PHONE not in logged
    assert len(Down.codes) == 3 and Down.codes[0] not in logged  # tried three times, the code never logged
    row = OneTimeCode.objects.get()
    assert row.code_hash  # the row stays and counts: a failing provider is not hammered
    with pytest.raises(CodeRefused):
        send()
    assert timezone.now() - row.created_at < dt.timedelta(minutes=1)


def test_codes_are_forgotten_after_a_day():
    with time_machine.travel(START, tick=False) as traveller:
        send()
        traveller.shift(dt.timedelta(hours=23))
        send(phone="13900000001")
        traveller.shift(dt.timedelta(hours=1, seconds=1))
        assert codes_purge() == 1
        assert OneTimeCode.objects.count() == 1
