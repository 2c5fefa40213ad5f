"""The in-app inbox: the reader's own notifications in their language, the unread badge, marking read."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import translation

from applications.choices import Stage
from applications.models import StageDefinition
from applications.tests.factories import make_draft
from notifications import texts
from notifications.choices import Kind
from notifications.context_processors import unread_notifications
from notifications.models import Notification
from notifications.services import notification_create

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


def notify(user, *, application=None, kind=Kind.STAGE_CHANGED, key: str, **context) -> Notification:
    return notification_create(
        recipient_id=user.pk,
        kind=kind,
        dedupe_key=key,
        application=application,
        context={"stage": Stage.UNDER_REVIEW, **context},
    )


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_the_inbox_shows_the_readers_own_notifications_in_words(client, customer, other_customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    notify(customer, application=application, key="mine")
    notify(other_customer, key="theirs", kind=Kind.OFFER_READY)
    client.force_login(customer)

    response = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="en")

    page = text_of(response)
    assert response.status_code == 200
    assert "Your application moved on" in page
    # The stage in the timeline's words (its definition's title), not the back office's label.
    assert f"Application {application.display_reference} is now at: Credit review." in page
    assert "Your offer is ready" not in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_inbox_and_the_timeline_name_every_stage_alike(customer, language):
    with translation.override(language):
        for definition in StageDefinition.objects.all():
            notification = notify(customer, key=f"at-{definition.stage}", stage=definition.stage)
            body = texts.render(notification).body
            assert definition.localized("title") in body, (definition.stage, body)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url, method in ((INBOX, "get"), (reverse("notifications:mark_all_read"), "post")):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


def test_the_header_shows_the_unread_count(client, customer):
    for number in range(3):
        notify(customer, key=f"n{number}")
    client.force_login(customer)
    html = client.get(reverse("applications:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'lp-unread-badge">3<', html)
    assert "3 unread messages" in html


def test_marking_all_read_clears_the_badge(client, customer, other_customer):
    notify(customer, key="a")
    notify(customer, key="b")
    theirs = notify(other_customer, key="c")
    client.force_login(customer)

    response = client.post(reverse("notifications:mark_all_read"))

    assert response.status_code == 302 and response.url == INBOX
    assert not Notification.objects.filter(recipient=customer, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "lp-unread-badge" not in client.get(INBOX).content.decode()


def test_opening_one_marks_it_read_and_goes_to_the_application(client, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    first = notify(customer, application=application, key="a")
    second = notify(customer, key="b")
    client.force_login(customer)
    target = reverse("applications:detail", args=[application.reference])

    response = client.post(reverse("notifications:mark_read", args=[first.pk]), {"next": target})

    assert response.url == target
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_marking_read_never_redirects_off_site(client, customer):
    notification = notify(customer, key="a")
    client.force_login(customer)
    response = client.post(
        reverse("notifications:mark_read", args=[notification.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == INBOX


def test_another_customers_notification_answers_404_and_stays_unread(client, customer, other_customer):
    theirs = notify(other_customer, key="theirs")
    client.force_login(customer)
    assert client.post(reverse("notifications:mark_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_needs_a_post(client, customer):
    notification = notify(customer, key="a")
    client.force_login(customer)
    assert client.get(reverse("notifications:mark_read", args=[notification.pk])).status_code == 405
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405


def test_the_inbox_costs_the_same_queries_for_one_and_ten(
    client, customer, dealer, django_assert_num_queries
):
    application = make_draft(customer=customer, dealer=dealer)
    notify(
        customer,
        application=application,
        key="k0",
        kind=Kind.DECISION,
        stage=Stage.REJECTED,
        reason="dti_too_high",
    )
    client.force_login(customer)
    client.get(INBOX)  # the configuration (stage words, reasons, document types) is cached from here
    # user; the count and the page (application joined); unread count (the session comes from the
    # cache; the stages, reasons and document types named come from the cached configuration)
    with django_assert_num_queries(4):
        assert client.get(INBOX).status_code == 200
    for number in range(1, 10):
        notify(customer, application=application, key=f"k{number}", kind=Kind.DOCUMENTS_REQUESTED)
    with django_assert_num_queries(4):
        response = client.get(INBOX)
    assert len(response.context["items"]) == 10


# --- The unread count on every page ---------------------------------------------------------------


def test_the_unread_count_costs_nothing_for_an_anonymous_visitor(rf, django_assert_num_queries):
    request = rf.get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert unread_notifications(request)["unread_notification_count"] == 0


def test_the_unread_count_costs_one_query_however_often_a_page_shows_it(
    rf, customer, django_assert_num_queries
):
    notify(customer, key="a")
    request = rf.get("/")
    request.user = customer
    count = unread_notifications(request)["unread_notification_count"]
    with django_assert_num_queries(1):
        assert count() == 1
        assert count() == 1


# --- The words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "context", "title", "body"),
    [
        (
            Kind.DOCUMENTS_REQUESTED,
            {"stage": Stage.AWAITING_DOCUMENTS},
            "Documents needed",
            "Application {ref} needs documents from you. Open it to see the list and upload them.",
        ),
        (
            Kind.DOCUMENT_REJECTED,
            {"document_type": "id_card_front", "reason": "photo_unreadable"},
            "A document needs replacing",
            "A document for application {ref} was not accepted: ID card, photo side (The photo is unreadable). Please upload a new one.",
        ),
        (
            Kind.OFFER_READY,
            {"stage": Stage.OFFER_PENDING},
            "Your offer is ready",
            "Application {ref} has been approved. Read the offer and accept or decline it before it expires.",
        ),
        (
            Kind.DECISION,
            {"stage": Stage.REJECTED, "reason": "dti_too_high"},
            "A decision on your application",
            "Application {ref} was not approved: Monthly debts are too high for the income.",
        ),
        (
            Kind.DECISION,
            {"stage": Stage.DISBURSED},
            "A decision on your application",
            "The loan for application {ref} has been paid to the dealer.",
        ),
    ],
)
def test_each_kind_reads_as_a_sentence(customer, dealer, kind, context, title, body):
    application = make_draft(customer=customer, dealer=dealer)
    notification = notify(customer, application=application, kind=kind, key="k", **context)
    with translation.override("en"):
        rendered = texts.render(notification)
    assert rendered == texts.Rendered(title, body.format(ref=application.display_reference))


@pytest.mark.parametrize(
    ("kind", "context", "body"),
    [
        (
            "delay_notice",
            {"stage": Stage.UNDER_REVIEW, "reason": "high_volume"},
            # The cause and its remedy, from the catalogue.
            "Application ABCDE-FGHJK is taking longer than planned at “Credit review”: We are handling more "
            "applications than usual. We have added staff and will get to it soon; you need do nothing.",
        ),
        (
            "delay_notice",
            {"stage": Stage.UNDER_REVIEW, "reason": ""},
            "Application ABCDE-FGHJK is taking longer than planned at “Credit review”. "
            "We will let you know as soon as it moves on.",
        ),
        (
            "documents_reminder",
            {"stage": Stage.AWAITING_DOCUMENTS, "number": 2},
            "Application ABCDE-FGHJK is still waiting for documents from you. "
            "Open it to see the list and upload them.",
        ),
        (
            "sla_breached",
            {"stage": Stage.APPROVAL},
            "Application ABCDE-FGHJK is past the time limit of “Approval”.",
        ),
    ],
)
def test_the_sla_sweeps_kinds_read_as_sentences_too(customer, kind, context, body):
    notification = notify(customer, kind=kind, key="k", reference="ABCDE-FGHJK", **context)
    with translation.override("en"):
        assert texts.render(notification).body == body


def test_the_words_follow_the_readers_language_not_the_writers(customer):
    notification = notify(customer, key="k", reference="ABCDE-FGHJK")
    with translation.override("zh-hans"):
        chinese = texts.render(notification).body
    with translation.override("en"):
        english = texts.render(notification).body
    assert "人工审核" in chinese and "Credit review" not in chinese
    assert "Credit review" in english
