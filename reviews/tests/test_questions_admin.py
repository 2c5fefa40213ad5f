"""Customers' questions in the back office: the queue of threads waiting for a reply (soonest due
first), the thread's page with its reply form and canned answers, and who may see which thread."""

from __future__ import annotations

import datetime as dt
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.choices import MessageKind, Stage
from applications.models import QuestionThread, ThreadMessage
from notifications.choices import Kind
from notifications.models import Notification
from reviews.models import CannedAnswer

QUEUE = reverse("admin:applications_questionthread_changelist")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def page_of(thread: QuestionThread) -> str:
    return reverse("admin:applications_questionthread_change", args=[thread.pk])


def asked(
    pipeline, stage=Stage.UNDER_REVIEW, *, body="When will I hear?", now=None, **kwargs
) -> QuestionThread:
    application = pipeline.new(stage)
    services.question_ask(application=application, actor=pipeline.customer, body=body, now=now, **kwargs)
    return QuestionThread.objects.get(application=application)


def queue_references(response) -> list[str]:
    return re.findall(r'class="field-display_reference"><a [^>]*>([^<]+)</a>', response.content.decode())


def test_the_queue_lists_waiting_threads_soonest_due_first(client, pipeline, reviewer):
    now = timezone.now()
    later = asked(pipeline, now=now - dt.timedelta(minutes=5))
    sooner = asked(pipeline, now=now - dt.timedelta(days=3))
    answered = asked(pipeline, now=now - dt.timedelta(days=5))
    services.question_answer(thread=answered, actor=reviewer, body="Done.")
    client.force_login(reviewer)
    response = client.get(QUEUE)
    assert response.status_code == 200
    references = queue_references(response)
    assert references == [
        sooner.application.display_reference,
        later.application.display_reference,
        answered.application.display_reference,
    ]
    waiting = queue_references(client.get(QUEUE, {"awaiting": "yes"}))
    assert answered.application.display_reference not in waiting


def test_a_queue_row_writes_its_times_one_way(client, pipeline, reviewer):
    """Waiting since, due and last message read in the same (the locale's) format, in Shanghai time."""
    from django.utils import formats, translation

    thread = asked(pipeline, now=timezone.now() - dt.timedelta(minutes=5))
    client.force_login(reviewer)
    response = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    with translation.override("zh-hans"):
        since = formats.localize(timezone.localtime(thread.awaiting_since))
        due = formats.localize(timezone.localtime(thread.response_due_at))
    assert since in page
    assert f"{due}（" in page or f"{due} (" in page
    assert timezone.localtime(thread.response_due_at).strftime("%Y-%m-%d %H:%M") not in page


def test_the_queue_costs_the_same_queries_whatever_its_length(
    client, pipeline, reviewer, django_assert_num_queries
):
    for _ in range(3):
        asked(pipeline)
    client.force_login(reviewer)
    client.get(QUEUE)  # the session and the configuration cached
    # The user; their permissions (own, then their groups'); their roles (the stages they see);
    # the count of their threads; the page of threads with their applications (the session is
    # cached).
    with django_assert_num_queries(6):
        client.get(QUEUE)
    for _ in range(5):
        asked(pipeline)
    with django_assert_num_queries(6):
        response = client.get(QUEUE)
    assert len(queue_references(response)) == 8


def test_staff_answer_with_a_canned_answer_and_the_customer_is_notified(client, pipeline, reviewer, customer):
    canned = CannedAnswer.objects.create(title="Review time", text="Reviews take about one working day.")
    thread = asked(pipeline)
    client.force_login(reviewer)
    page = client.get(page_of(thread))
    assert page.status_code == 200
    html = page.content.decode()
    assert "When will I hear?" in html
    assert 'data-text="Reviews take about one working day."' in html
    response = client.post(page_of(thread), {"canned": canned.pk, "body": ""})
    assert response.status_code == 302
    answer = ThreadMessage.objects.get(thread=thread, kind=MessageKind.ANSWER)
    assert answer.body == "Reviews take about one working day."
    assert answer.author == reviewer
    thread.refresh_from_db()
    assert not thread.awaiting_reply
    assert Notification.objects.filter(recipient=customer, kind=Kind.QUESTION_ANSWERED).count() == 1


def test_an_internal_note_from_the_page_stays_with_staff(client, pipeline, reviewer, customer):
    thread = asked(pipeline)
    client.force_login(reviewer)
    response = client.post(page_of(thread), {"body": "Called the dealer.", "internal": "on"})
    assert response.status_code == 302
    note = ThreadMessage.objects.get(thread=thread, kind=MessageKind.NOTE)
    assert note.body == "Called the dealer."
    thread.refresh_from_db()
    assert thread.awaiting_reply  # a note answers nothing
    assert not Notification.objects.filter(recipient=customer, kind=Kind.QUESTION_ANSWERED).exists()
    assert "Called the dealer." in client.get(page_of(thread)).content.decode()


def test_an_empty_reply_is_refused_with_a_message(client, pipeline, reviewer):
    thread = asked(pipeline)
    client.force_login(reviewer)
    response = client.post(page_of(thread), {"body": "  "})
    assert response.status_code == 200
    assert "Write a message or pick a canned answer." in response.content.decode()
    assert not ThreadMessage.objects.filter(thread=thread).exclude(kind=MessageKind.QUESTION).exists()


def test_staff_see_the_threads_of_the_files_they_may_see(client, pipeline, reviewer, approver, manager):
    """As for the files themselves: a reviewer the files in review, an approver those in approval,
    managers every one; a thread of another stage answers 404 and cannot be answered."""
    in_review = asked(pipeline, Stage.UNDER_REVIEW)
    in_approval = asked(pipeline, Stage.APPROVAL)
    client.force_login(approver)
    assert queue_references(client.get(QUEUE)) == [in_approval.application.display_reference]
    assert client.get(page_of(in_review)).status_code == 404
    assert client.post(page_of(in_review), {"body": "Let me answer"}).status_code == 404
    assert not ThreadMessage.objects.filter(thread=in_review, kind=MessageKind.ANSWER).exists()
    client.force_login(reviewer)
    assert client.get(page_of(in_approval)).status_code == 404
    assert client.get(page_of(in_review)).status_code == 200
    client.force_login(manager)
    assert len(queue_references(client.get(QUEUE))) == 2


def test_customers_never_reach_the_back_office_threads(client, pipeline, customer):
    thread = asked(pipeline)
    client.force_login(customer)
    assert client.get(page_of(thread)).status_code == 302  # to the admin's sign-in
    assert client.get(QUEUE).status_code == 302


def test_staff_open_an_attachment_of_a_thread_they_may_see(client, pipeline, reviewer, approver):
    thread = asked(pipeline, attachment=SimpleUploadedFile("photo.png", PNG))
    message = thread.messages.get()
    url = reverse("admin:applications_questionthread_attachment", args=[thread.pk, message.public_id])
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(approver)
    assert client.get(url).status_code == 404


def test_only_managers_keep_the_canned_answers(client, reviewer, manager):
    add = reverse("admin:reviews_cannedanswer_add")
    client.force_login(reviewer)
    assert client.get(reverse("admin:reviews_cannedanswer_changelist")).status_code == 200
    assert client.get(add).status_code == 403
    client.force_login(manager)
    response = client.post(
        add, {"title": "Documents", "text": "Upload them on the timeline.", "position": 1, "is_active": "on"}
    )
    assert response.status_code == 302
    assert CannedAnswer.objects.get().title == "Documents"
