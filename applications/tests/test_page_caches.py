"""What the busy customer pages keep in the cache, and when a change shows.

The configuration (stage definitions, document types, reasons) is read from the cache until a row
of it changes; the timeline's body is kept per version of the file, so an event, an upload or a
staff change shows on the next view, in the visitor's language, and only to the file's owner.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications import reference, services
from applications.choices import EventKind, Role, Stage
from applications.models import DOCUMENTS_STAGE, DocumentType, Reason, StageDefinition
from applications.selectors import application_timeline
from notifications.choices import Kind as NotificationKind
from notifications.models import Notification
from notifications.services import notification_create, notifications_mark_read

from .test_timeline import _grow_history, at_offer, detail_url, in_review, text_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    caches["pages"].clear()
    yield
    cache.clear()
    caches["pages"].clear()


@pytest.fixture
def timeline_cache(settings):
    settings.TIMELINE_CACHE_SECONDS = 60


# --- The configuration ---------------------------------------------------------------------------


def test_the_configuration_is_read_once_then_from_the_cache(django_assert_num_queries):
    with django_assert_num_queries(3):  # stage definitions, document types, reasons
        first = reference.reference_data()
    with django_assert_num_queries(0):
        again = reference.reference_data()
    assert again.definitions.keys() == first.definitions.keys() and Stage.UNDER_REVIEW in again.definitions
    assert again.document_types["id_card_front"].required_for_review is True
    assert again.document_types["bank_statement"].required_for_review is False
    assert "more_income_proof" in again.reasons


def test_an_edited_stage_definition_shows_on_the_next_read(django_capture_on_commit_callbacks):
    assert reference.reference_data().definitions[Stage.UNDER_REVIEW].title_en != "Checked by hand"
    definition = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    definition.title_en = "Checked by hand"
    with django_capture_on_commit_callbacks(execute=True):
        definition.save()
    assert reference.reference_data().definitions[Stage.UNDER_REVIEW].title_en == "Checked by hand"


def test_required_documents_and_reasons_changed_in_the_admin_show_too(django_capture_on_commit_callbacks):
    bank_statement = DocumentType.objects.get(code="bank_statement")
    review = StageDefinition.objects.get(stage=DOCUMENTS_STAGE)
    assert reference.reference_data().document_types["bank_statement"].required_for_review is False
    with django_capture_on_commit_callbacks(execute=True):
        review.required_document_types.add(bank_statement)
    assert reference.reference_data().document_types["bank_statement"].required_for_review is True

    with django_capture_on_commit_callbacks(execute=True):
        Reason.objects.filter(code="more_income_proof").first().delete()
    assert "more_income_proof" not in reference.reference_data().reasons


def test_nothing_changes_until_the_change_commits():
    definition = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    before = reference.reference_data()
    with transaction.atomic():
        definition.title_en = "Not yet"
        definition.save()  # the new version is stored on commit, which the test's rollback never does
        assert reference.reference_data().version == before.version


def test_a_copy_loaded_while_a_change_committed_is_never_used(django_assert_num_queries):
    """A reader that began loading before a change and stores its copy after it stores it under the
    old version: the next reader loads again instead of using the stale copy."""
    stale = reference._load(reference.reference_data().version)  # began before the change
    cache.set(reference.VERSION_KEY, "after-the-change")  # the change commits
    cache.set(reference.DATA_KEY, stale)  # the slow reader stores what it read
    with django_assert_num_queries(3):
        fresh = reference.reference_data()
    assert fresh.version == "after-the-change"


def test_an_emptied_cache_starts_a_new_version(django_assert_num_queries):
    reference.reference_data()
    cache.clear()
    with django_assert_num_queries(3):
        data = reference.reference_data()
    assert data.version == cache.get(reference.VERSION_KEY)


# --- The timeline's body -------------------------------------------------------------------------


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _csrf_tokens(content: bytes) -> set[bytes]:
    return set(re.findall(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content))


def test_a_repeat_view_is_one_query_and_the_same_page(
    client, customer, dealer, timeline_cache, django_assert_num_queries
):
    application = in_review(customer, dealer)
    client.force_login(customer)
    first = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    with django_assert_num_queries(1):  # the session, the account, the file's version, the unread count
        again = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200
    # The same page, but for the CSRF token, which is masked afresh for every response.
    assert _without_csrf(again.content) == _without_csrf(first.content)
    assert _csrf_tokens(again.content).isdisjoint(_csrf_tokens(first.content))
    # The kept page is HTML, not text escaped on the way out of the cache.
    assert b'<section class="card' in again.content and b"&lt;section" not in again.content


def test_another_visitor_s_first_view_of_a_kept_body_reads_three_rows(
    client, customer, dealer, timeline_cache, django_assert_num_queries
):
    """The body is shared across visitors and frames; the page is per visitor."""
    application = in_review(customer, dealer)
    client.force_login(customer)
    client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    caches["pages"].clear()  # as in another server process, which kept no page yet
    # The repeat-view check, the user, the application: the body from the cache, the unread
    # count from the check.
    with django_assert_num_queries(3):
        assert client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en").status_code == 200


def test_a_repeat_view_answers_with_the_same_headers(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    client.force_login(customer)
    first = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    again = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert dict(again.headers) == {**dict(first.headers), "Content-Length": again.headers["Content-Length"]}
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in again.headers["Vary"].split(",")}
    assert again.headers["Content-Language"] == "en" and again.headers["X-Frame-Options"] == "DENY"
    # The CSRF cookie is renewed, as on every page that carries a form.
    assert again.cookies["csrftoken"].value


def test_the_kept_page_s_forms_pass_the_csrf_check(customer, dealer, timeline_cache):
    """The language switcher posts the token the kept page was given for this response."""
    client = Client(enforce_csrf_checks=True)
    application = in_review(customer, dealer)
    client.force_login(customer)
    client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    kept = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    (token,) = _csrf_tokens(kept.content)
    switched = client.post(
        reverse("set_language"),
        {"language": "zh-hans", "next": detail_url(application), "csrfmiddlewaretoken": token.decode()},
    )
    assert switched.status_code == 302
    assert "申请" in text_of(client.get(detail_url(application)))


def _kept_then(client, customer, application):
    """Sign in, view twice (the second from the kept page) and return the session cookie."""
    client.force_login(customer)
    client.get(detail_url(application))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail_url(application)).status_code == 200
    assert len(queries) == 1, "the second view is the kept page"
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_signed_out_session_never_gets_the_kept_page(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    session_key = _kept_then(client, customer, application)
    client.post(reverse("accounts:logout"))
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key  # the old cookie, replayed
    response = client.get(detail_url(application))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_a_changed_password_ends_other_sessions_for_the_kept_page_too(
    client, customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    _kept_then(client, customer, application)
    customer.set_password("a-New-passphrase-43")
    customer.save()
    response = client.get(detail_url(application))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_a_deactivated_account_gets_no_kept_page(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _kept_then(client, customer, application)
    type(customer).objects.filter(pk=customer.pk).update(is_active=False)
    response = client.get(detail_url(application))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_an_expired_session_gets_no_kept_page(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    session_key = _kept_then(client, customer, application)
    Session.objects.filter(session_key=session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    cache.clear()  # as when the session's cached copy expires with it
    response = client.get(detail_url(application))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_another_customer_s_session_gets_404_not_the_kept_page(
    client, customer, other_customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    _kept_then(client, customer, application)
    client.force_login(other_customer)
    assert client.get(detail_url(application)).status_code == 404


@pytest.mark.parametrize(
    "storage",
    [
        "django.contrib.messages.storage.cookie.CookieStorage",
        "django.contrib.messages.storage.session.SessionStorage",
    ],
)
def test_a_message_waiting_shows_on_the_next_view(
    client, settings, customer, dealer, reviewer, approver, storage
):
    settings.TIMELINE_CACHE_SECONDS = 60
    settings.MESSAGE_STORAGE = storage
    application = at_offer(customer, dealer, reviewer, approver)
    _kept_then(client, customer, application)
    # Not withdrawable at the offer: the confirmation redirects back with a message, file unchanged.
    client.get(reverse("applications:withdraw", args=[application.reference]), HTTP_ACCEPT_LANGUAGE="en")
    shown = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "This application can no longer be withdrawn." in shown
    # Shown once: the next view is the kept page again, without it.
    assert "can no longer be withdrawn" not in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )


def test_a_new_notification_and_reading_it_show_in_the_navbar(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _kept_then(client, customer, application)
    unread_before = Notification.objects.filter(recipient=customer, read_at__isnull=True).count()
    notification_create(
        recipient_id=customer.pk,
        kind=NotificationKind.DOCUMENTS_REQUESTED,
        dedupe_key="page-cache-test",
        application=application,
    )
    badge = re.compile(r'lp-unread-badge">(\d+)<')
    page = client.get(detail_url(application)).content.decode()
    assert badge.search(page).group(1) == str(unread_before + 1)
    notifications_mark_read(recipient=customer)
    assert badge.search(client.get(detail_url(application)).content.decode()) is None


def test_a_changed_name_shows_in_the_navbar(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _kept_then(client, customer, application)
    customer.first_name, customer.last_name = "Mei", "Chen"
    customer.save()
    assert "Mei Chen" in text_of(client.get(detail_url(application)))


def test_staff_pages_are_never_kept(client, make_user, dealer, timeline_cache, django_assert_max_num_queries):
    """A staff member's own application (they may buy a car too): their frame depends on roles."""
    staff_customer = make_user("staff_buyer", Role.CUSTOMER, is_staff=True)
    application = in_review(staff_customer, dealer)
    client.force_login(staff_customer)
    client.get(detail_url(application))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail_url(application)).status_code == 200
    assert len(queries) > 1


def test_an_upload_shows_on_the_next_view(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer, documents=("id_card_front",))
    client.force_login(customer)
    assert "Document received: Proof of income" not in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )
    upload(application, "income_proof", actor=customer)
    assert "Document received: Proof of income" in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )


def test_a_stage_change_shows_on_the_next_view(client, customer, dealer, reviewer, timeline_cache):
    application = in_review(customer, dealer)
    client.force_login(customer)
    client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    services.review_recommend(application=application, actor=reviewer, note="fine")
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Credit review finished: your application went to approval" in page


def test_each_language_has_its_own_body(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    client.force_login(customer)
    english = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    chinese = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "What happened" in english or "History" in english
    assert "Pre-check passed" in english and "Pre-check passed" not in chinese


def test_another_customer_never_gets_the_cached_body(
    client, customer, other_customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    client.force_login(customer)
    assert client.get(detail_url(application)).status_code == 200
    client.force_login(other_customer)
    assert client.get(detail_url(application)).status_code == 404


def test_the_whole_history_is_cached_apart_from_the_latest_entries(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _grow_history(application, customer, documents=0, events=30)
    client.force_login(customer)
    latest = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    everything = text_of(client.get(detail_url(application) + "?history=all", HTTP_ACCEPT_LANGUAGE="en"))
    assert "earlier events" in latest and "earlier event" not in everything


# --- The latest events only ----------------------------------------------------------------------


def test_the_latest_events_keep_every_stage_change_and_the_true_total(customer, dealer):
    application = in_review(customer, dealer)
    _grow_history(application, customer, documents=0, events=30)
    whole = application_timeline(application=application)
    latest = application_timeline(application=application, latest_events=5)

    assert latest.events_total == whole.events_total == len(whole.events)
    transitions = [e.sequence for e in whole.events if e.kind == EventKind.TRANSITION]
    assert [e.sequence for e in latest.events if e.kind == EventKind.TRANSITION] == transitions
    newest_five = [e.sequence for e in whole.events][-5:]
    assert [e.sequence for e in latest.events][-5:] == newest_five
    assert len(latest.events) == len(set(transitions) | set(newest_five))
    # The milestones are read from the stage changes alone: the same either way.
    assert latest.milestones == whole.milestones
