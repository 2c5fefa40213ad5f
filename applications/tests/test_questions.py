"""Asking about an application: the customer's question on the timeline, staff's answer, the
first-response time limit on the working calendar, and internal notes nobody but staff sees."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from applications import services
from applications.choices import EventKind, MessageKind
from applications.models import QuestionThread, ThreadMessage
from applications.sla import SlaState
from applications.working_calendar import CalendarDay
from notifications.choices import Channel, Kind
from notifications.models import ChannelPreference, Delivery, Notification

from .factories import detail_url, in_review, text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def english(client):
    """The customer pages in English, so the assertions read the English words (the Chinese ones
    are checked in the browser journey)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def application(customer, dealer):
    return in_review(customer, dealer)


def ask(application, customer, body="When will my review be done?", **kwargs):
    return services.question_ask(application=application, actor=customer, body=body, **kwargs)


# --- The first-response clock ---------------------------------------------------------------------


def test_a_question_on_friday_evening_is_due_on_monday_within_four_working_hours(
    application, customer, settings
):
    settings.QUESTION_RESPONSE_HOURS = 4
    # Friday 17:00: one working hour on Friday, three on Monday from 09:00.
    message = ask(application, customer, now=at(2026, 3, 6, 17))
    thread = QuestionThread.objects.get(application=application)
    assert message.response_due_at == at(2026, 3, 9, 12)
    assert thread.response_due_at == at(2026, 3, 9, 12)
    assert thread.at_risk_at == at(2026, 3, 9, 11, 12)  # 80 % of four hours: 3 h 12 min
    assert thread.awaiting_since == at(2026, 3, 6, 17)


def test_a_public_holiday_does_not_count_towards_the_first_response(application, customer, settings):
    settings.QUESTION_RESPONSE_HOURS = 4
    CalendarDay.objects.create(date=dt.date(2026, 3, 9), is_working=False, note="holiday")
    message = ask(application, customer, now=at(2026, 3, 6, 17))
    assert message.response_due_at == at(2026, 3, 10, 12)


def test_a_second_question_keeps_the_first_ones_due_time(application, customer):
    first = ask(application, customer, now=at(2026, 3, 2, 10))
    second = ask(application, customer, body="And one more thing.", now=at(2026, 3, 2, 11))
    thread = QuestionThread.objects.get(application=application)
    assert thread.response_due_at == first.response_due_at
    assert second.response_due_at is None  # it opened no wait of its own


def test_an_answer_clears_the_wait_and_records_when_it_came(application, customer, reviewer):
    question = ask(application, customer, now=at(2026, 3, 2, 10))
    thread = QuestionThread.objects.get(application=application)
    services.question_answer(thread=thread, actor=reviewer, body="Tomorrow.", now=at(2026, 3, 2, 11))
    thread.refresh_from_db()
    question.refresh_from_db()
    assert not thread.awaiting_reply
    assert (thread.awaiting_since, thread.at_risk_at, thread.sla_state) == (None, None, SlaState.ON_TIME)
    assert question.answered_at == at(2026, 3, 2, 11)
    # The next question opens a new wait from its own time.
    again = ask(application, customer, body="Thanks. Another one.", now=at(2026, 3, 3, 9))
    assert again.response_due_at == at(2026, 3, 3, 13)


def test_an_internal_note_answers_nothing_and_writes_no_history(application, customer, reviewer):
    ask(application, customer)
    thread = QuestionThread.objects.get(application=application)
    events = application.events.count()
    note = services.question_note_add(thread=thread, actor=reviewer, body="Customer called twice.")
    thread.refresh_from_db()
    assert note.kind == MessageKind.NOTE
    assert thread.awaiting_reply
    assert application.events.count() == events


def test_questions_and_answers_are_history_events_and_the_chain_still_verifies(
    application, customer, reviewer
):
    from applications.history import verify_chains

    ask(application, customer)
    services.question_answer(
        thread=QuestionThread.objects.get(application=application), actor=reviewer, body="Soon."
    )
    messages = list(application.events.filter(kind=EventKind.MESSAGE).values_list("actor_id", "data__from"))
    assert messages == [(customer.pk, "customer"), (reviewer.pk, "staff")]
    assert dict(verify_chains())[application.reference] is None


def test_only_the_files_customer_may_ask_and_only_staff_answer(application, customer, other_customer):
    with pytest.raises(PermissionDenied):
        ask(application, other_customer)
    ask(application, customer)
    with pytest.raises(PermissionDenied):
        services.question_answer(
            thread=QuestionThread.objects.get(application=application), actor=customer, body="I answer myself"
        )


def test_an_empty_question_is_refused(application, customer):
    with pytest.raises(ValidationError) as refused:
        ask(application, customer, body="   ")
    assert "body" in refused.value.message_dict
    assert not ThreadMessage.objects.exists()


def test_an_attachment_is_judged_by_its_content_like_a_document(application, customer):
    fake = SimpleUploadedFile("payslip.pdf", b"just some text", content_type="application/pdf")
    with pytest.raises(ValidationError) as refused:
        ask(application, customer, attachment=fake)
    assert "attachment" in refused.value.message_dict
    assert not ThreadMessage.objects.exists()
    message = ask(application, customer, attachment=SimpleUploadedFile("photo.png", PNG))
    assert (message.attachment_type, message.attachment_name) == ("image/png", "photo.png")


# --- The customer's pages ---------------------------------------------------------------------------


def test_the_customer_asks_on_the_timeline_and_sees_the_answer(
    client, application, customer, reviewer, settings
):
    settings.TIMELINE_CACHE_SECONDS = 60  # as served: the body cached per version of the file
    cache.clear()
    client.force_login(customer)
    first = client.get(detail_url(application))
    assert "Ask about this application" in text_of(first)
    etag = first["ETag"]
    response = client.post(
        reverse("applications:question_ask", args=[application.reference]),
        {"body": "Is my payslip enough?"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#questions")
    shown_once = client.get(detail_url(application))  # with the thank-you message: no ETag
    assert "Thank you" in text_of(shown_once)
    page = client.get(detail_url(application), HTTP_IF_NONE_MATCH=etag)
    assert page.status_code == 200  # a new version: never the browser's old copy
    assert page["ETag"] != etag
    assert "Is my payslip enough?" in text_of(page)
    # Staff answer: the next view shows it, though the body is cached.
    etag = page["ETag"]
    assert client.get(detail_url(application), HTTP_IF_NONE_MATCH=etag).status_code == 304
    thread = QuestionThread.objects.get(application=application)
    services.question_answer(thread=thread, actor=reviewer, body="Yes, it is enough.")
    page = client.get(detail_url(application), HTTP_IF_NONE_MATCH=etag)
    assert page.status_code == 200
    assert "Yes, it is enough." in text_of(page)
    assert "Customer service" in text_of(page)


def test_a_timeline_served_from_the_cache_asks_with_its_own_csrf_token(application, customer, settings):
    """The body and the form's fields come from the cache; the form around them carries the token of
    the session that reads it, so a second device of the customer's can ask from the cached page."""
    import re

    from django.test import Client

    settings.TIMELINE_CACHE_SECONDS = 60
    cache.clear()
    for device, body in (("phone", "From my phone"), ("laptop", "From my laptop")):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(customer)
        page = browser.get(detail_url(application)).content.decode()
        assert 'name="body"' in page and 'name="attachment"' in page, device
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = browser.post(
            reverse("applications:question_ask", args=[application.reference]),
            {"body": body, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302, device
    assert list(
        ThreadMessage.objects.filter(thread__application=application).values_list("body", flat=True)
    ) == ["From my phone", "From my laptop"]


def test_internal_notes_never_appear_on_any_customer_page_or_notification(
    client, application, customer, reviewer, settings
):
    settings.TIMELINE_CACHE_SECONDS = 0
    ask(application, customer, attachment=SimpleUploadedFile("photo.png", PNG))
    thread = QuestionThread.objects.get(application=application)
    secret = "Internal: customer sounded annoyed"
    note = services.question_note_add(thread=thread, actor=reviewer, body=secret)
    services.question_answer(thread=thread, actor=reviewer, body="We are on it.")
    client.force_login(customer)
    pages = [
        detail_url(application),
        detail_url(application) + "?history=all",
        reverse("applications:list"),
        reverse("applications:home"),
        reverse("notifications:inbox"),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert secret not in page.content.decode(), url
    notifications = Notification.objects.filter(recipient=customer)
    assert secret not in str(list(notifications.values_list("context", flat=True)))
    assert list(notifications.filter(kind=Kind.QUESTION_ANSWERED).values_list("kind", flat=True)) == [
        Kind.QUESTION_ANSWERED
    ]
    url = reverse("applications:question_attachment", args=[application.reference, note.public_id])
    assert client.get(url).status_code == 404


def test_the_customer_is_told_of_an_answer_on_the_channels_they_chose(application, customer, reviewer):
    ChannelPreference.objects.create(user=customer, email=False, sms=True)
    ask(application, customer)
    services.question_answer(
        thread=QuestionThread.objects.get(application=application), actor=reviewer, body="Done."
    )
    notification = Notification.objects.get(recipient=customer, kind=Kind.QUESTION_ANSWERED)
    assert not Delivery.objects.filter(notification=notification, channel=Channel.EMAIL).exists()
    assert notification.context == {"stage": application.stage}  # never the answer's words


def test_a_question_that_needs_correcting_is_shown_again_with_the_reason(client, application, customer):
    client.force_login(customer)
    fake = SimpleUploadedFile("payslip.pdf", b"just some text", content_type="application/pdf")
    response = client.post(
        reverse("applications:question_ask", args=[application.reference]),
        {"body": "See attached", "attachment": fake},
    )
    assert response.status_code == 200
    assert "whatever its name says" in text_of(response)
    assert not ThreadMessage.objects.exists()


def test_another_customer_gets_404_for_the_thread_and_its_files(
    client, application, customer, other_customer
):
    message = ask(application, customer, attachment=SimpleUploadedFile("photo.png", PNG))
    client.force_login(customer)
    own = client.get(
        reverse("applications:question_attachment", args=[application.reference, message.public_id])
    )
    assert own.status_code == 200
    assert b"".join(own.streaming_content).startswith(b"\x89PNG")
    client.force_login(other_customer)
    ask_url = reverse("applications:question_ask", args=[application.reference])
    assert client.post(ask_url, {"body": "Let me in"}).status_code == 404
    assert client.get(ask_url).status_code == 404
    file_url = reverse("applications:question_attachment", args=[application.reference, message.public_id])
    assert client.get(file_url).status_code == 404
    assert ThreadMessage.objects.count() == 1


def test_time_is_frozen_for_the_clock(application, customer):
    # The due time is computed when the question is asked, from the service's clock.
    with time_machine.travel(at(2026, 3, 2, 16, 30), tick=False):
        message = ask(application, customer)
    assert message.response_due_at == at(2026, 3, 3, 11, 30)


def test_after_key_rotation_the_new_key_alone_opens_an_attachment(client, application, customer, settings):
    from io import StringIO

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    message = ask(application, customer, attachment=SimpleUploadedFile("photo.png", PNG))
    old_name = message.attachment.name
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]
    out = StringIO()
    call_command("rotate_pii_keys", stdout=out)
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key removed, as the README says
    assert "1 attachments of questions" in out.getvalue()
    message.refresh_from_db()
    assert message.attachment.name != old_name
    client.force_login(customer)
    url = reverse("applications:question_attachment", args=[application.reference, message.public_id])
    assert b"".join(client.get(url).streaming_content) == PNG
