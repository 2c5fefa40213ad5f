"""What the busy customer pages keep in the cache, and when a change shows.

The configuration (stage definitions, document types, reasons) is read from the cache until a row
of it changes; the timeline's body is kept per version of the file, so an event, an upload or a
staff change shows on the next view, in the visitor's language, and only to the file's owner. A
browser reloading an unchanged timeline is answered 304; anything the page shows that changed
(the file, the unread count, the name in the navbar, the language) answers with the new page.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from applications import reference, services
from applications.choices import EventKind, Stage
from applications.models import DOCUMENTS_STAGE, DocumentType, Reason, StageDefinition
from applications.selectors import application_timeline
from notifications.choices import Kind as NotificationKind
from notifications.models import Notification
from notifications.services import notification_create, notifications_mark_read

from .factories import at_offer, detail_url, grow_history, in_review, make_draft, text_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def timeline_cache(settings):
    """The timeline as served: body cached, browsers' copies confirmed, for a minute at a time. The
    clock stands still (the ETag carries the current minute) until the test moves it."""
    settings.TIMELINE_CACHE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


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


# --- The timeline: the body cached by version, and the browser's copy confirmed (304) -------------


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _csrf_tokens(content: bytes) -> set[bytes]:
    return set(re.findall(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content))


def _sign_in(client, customer) -> None:
    """Signed in, with the CSRF cookie a browser holds from the forms of the pages before."""
    client.force_login(customer)
    client.get(reverse("applications:home"))
    assert client.cookies[settings.CSRF_COOKIE_NAME].value


def _reload(client, response, **headers):
    """What a browser's reload sends: the page's address, with the ETag of the copy it holds."""
    return client.get(response.wsgi_request.get_full_path(), HTTP_IF_NONE_MATCH=response["ETag"], **headers)


def _vary(response) -> set[str]:
    return {value.strip() for value in response.headers.get("Vary", "").split(",")}


def test_a_reload_of_an_unchanged_page_answers_304(
    client, customer, dealer, timeline_cache, django_assert_num_queries
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and page["ETag"]
    assert set(page["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert {"Cookie", "Accept-Language"} <= _vary(page)

    with django_assert_num_queries(3):  # the user, the application's version, the unread count
        again = _reload(client, page, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 304 and again.content == b""
    # What the browser keeps its copy under, as the page said it.
    assert again["ETag"] == page["ETag"]
    assert set(again["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert {"Cookie", "Accept-Language"} <= _vary(again)


def test_the_page_costs_fourteen_queries_with_every_cache_empty_and_three_with_its_body_cached(
    client, customer, dealer, timeline_cache, django_assert_num_queries
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    cache.clear()
    # The session (then cached), the user, the application's version, the unread count (for the
    # ETag and the navbar); the body: the application in full, its customer-visible events,
    # documents, document requests, the configuration (stage definitions, document types, reasons)
    # and the prediction's quantiles with the working calendar (hours and days) the expected dates
    # are placed on: three queries that beat keeps cached (``applications.prediction``), so a
    # served page rarely makes them.
    with django_assert_num_queries(14):
        first = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == 200
    # Another browser of the same customer, holding no copy: the body comes from the cache.
    with django_assert_num_queries(3):  # the user, the application's version, the unread count
        second = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert second.status_code == 200 and second["ETag"] == first["ETag"]
    # The same page, but for the CSRF token, which is masked afresh for every response.
    assert _without_csrf(second.content) == _without_csrf(first.content)
    # The cached body is HTML, not text escaped on the way out of the cache.
    assert b'<section class="card' in second.content and b"&lt;section" not in second.content


def _new_event(application, customer, reviewer):
    services.application_event_add(
        application=application, kind=EventKind.DOCUMENT, data={"action": "uploaded"}
    )


def _upload(application, customer, reviewer):
    upload(application, "income_proof", actor=customer)  # a second copy


def _stage_change(application, customer, reviewer):
    services.review_recommend(application=application, actor=reviewer, note="fine")


def _new_notification(application, customer, reviewer):
    notification_create(
        recipient_id=customer.pk,
        kind=NotificationKind.DOCUMENTS_REQUESTED,
        dedupe_key="page-cache-test",
        application=application,
    )


def _notifications_read(application, customer, reviewer):
    notifications_mark_read(recipient=customer)


def _name_changed(application, customer, reviewer):
    customer.first_name, customer.last_name = "Mei", "Chen"
    customer.save()


@pytest.mark.parametrize(
    ("change", "shows"),
    [
        (_new_event, None),
        (_upload, "Document received: Proof of income"),
        (_stage_change, "Credit review finished: your application went to approval"),
        (_new_notification, None),
        (_notifications_read, None),
        (_name_changed, "Mei Chen"),
    ],
    ids=["event", "upload", "stage change", "new notification", "notifications read", "name in the navbar"],
)
def test_any_change_the_page_shows_answers_the_reload_with_the_new_page(
    client, customer, dealer, reviewer, timeline_cache, change, shows
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    before = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    change(application, customer, reviewer)
    after = _reload(client, before, HTTP_ACCEPT_LANGUAGE="en")
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    if shows:
        assert text_of(after).count(shows) > text_of(before).count(shows)


def test_the_unread_count_in_the_navbar_is_the_current_one(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    badge = re.compile(r'lp-unread-badge">(\d+)<')
    unread = Notification.objects.filter(recipient=customer, read_at__isnull=True).count()
    page = client.get(detail_url(application))
    assert badge.search(page.content.decode()).group(1) == str(unread)
    _new_notification(application, customer, None)
    page = _reload(client, page)
    assert badge.search(page.content.decode()).group(1) == str(unread + 1)
    notifications_mark_read(recipient=customer)
    assert badge.search(_reload(client, page).content.decode()) is None


def test_each_language_has_its_own_page_and_body(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    english = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    chinese = _reload(client, english, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 200 and chinese["ETag"] != english["ETag"]
    assert "Pre-check passed" in text_of(english) and "Pre-check passed" not in text_of(chinese)
    assert chinese.headers["Content-Language"] == "zh-hans"


def test_the_whole_history_is_a_page_of_its_own(client, customer, dealer, timeline_cache):
    application = in_review(customer, dealer)
    grow_history(application, customer, documents=0, events=30)
    _sign_in(client, customer)
    latest = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    everything = client.get(
        detail_url(application) + "?history=all", HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=latest["ETag"]
    )
    assert everything.status_code == 200 and everything["ETag"] != latest["ETag"]
    assert "earlier events" in text_of(latest) and "earlier event" not in text_of(everything)
    assert _reload(client, everything, HTTP_ACCEPT_LANGUAGE="en").status_code == 304


def test_a_copy_older_than_the_cache_window_is_not_confirmed(client, customer, dealer, timeline_cache):
    """The page says "in about 2 hours": a browser's copy is confirmed for as long as a cached body
    is used, then built again with the times of the moment."""
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application))
    timeline_cache.shift(dt.timedelta(seconds=settings.TIMELINE_CACHE_SECONDS))
    again = _reload(client, page)
    assert again.status_code == 200 and again["ETag"] != page["ETag"]


def test_forms_on_a_page_confirmed_by_304_pass_the_csrf_check(customer, dealer, timeline_cache):
    """The browser shows its copy after a 304: the language switcher posts that copy's token,
    which the CSRF cookie it still holds accepts."""
    client = Client(enforce_csrf_checks=True)
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    assert _reload(client, page, HTTP_ACCEPT_LANGUAGE="en").status_code == 304
    token = next(iter(_csrf_tokens(page.content)))
    switched = client.post(
        reverse("set_language"),
        {"language": "zh-hans", "next": detail_url(application), "csrfmiddlewaretoken": token.decode()},
    )
    assert switched.status_code == 302
    assert "申请" in text_of(client.get(detail_url(application)))


def test_a_copy_made_for_another_csrf_cookie_is_not_confirmed(client, customer, dealer, timeline_cache):
    """Signing in again gives the browser a new CSRF cookie: the forms of its old copy would fail."""
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application))
    assert client.cookies[settings.CSRF_COOKIE_NAME].value
    del client.cookies[settings.CSRF_COOKIE_NAME]
    again = _reload(client, page)
    assert again.status_code == 200 and again["ETag"] != page["ETag"]
    assert again.cookies[settings.CSRF_COOKIE_NAME].value  # a new cookie, for the new copy's forms


def test_another_customer_gets_404_whatever_copy_they_hold(
    client, customer, other_customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application))
    client.force_login(other_customer)
    assert _reload(client, page).status_code == 404
    assert client.get(detail_url(application)).status_code == 404


def _signed_out(client, customer):
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("accounts:logout"))
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key  # the old cookie, replayed


def _password_changed(client, customer):
    customer.set_password("a-New-passphrase-43")
    customer.save()


def _deactivated(client, customer):
    type(customer).objects.filter(pk=customer.pk).update(is_active=False)


def _expired(client, customer):
    Session.objects.filter(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    cache.clear()  # as when the session's cached copy expires with it


def _anonymous(client, customer):
    client.logout()


@pytest.mark.parametrize(
    "end", [_signed_out, _password_changed, _deactivated, _expired, _anonymous], ids=lambda f: f.__name__[1:]
)
def test_a_session_that_no_longer_signs_in_is_sent_to_sign_in_not_confirmed(
    client, customer, dealer, timeline_cache, end
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application))
    end(client, customer)
    response = _reload(client, page)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    "storage",
    [
        "django.contrib.messages.storage.cookie.CookieStorage",
        "django.contrib.messages.storage.session.SessionStorage",
    ],
)
def test_a_message_waiting_shows_on_the_next_view(
    client, settings, customer, dealer, reviewer, approver, storage, timeline_cache
):
    settings.MESSAGE_STORAGE = storage
    application = at_offer(customer, dealer, reviewer, approver)
    _sign_in(client, customer)
    page = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    # Not withdrawable at the offer: the confirmation redirects back with a message, file unchanged.
    client.get(reverse("applications:withdraw", args=[application.reference]), HTTP_ACCEPT_LANGUAGE="en")
    shown = _reload(client, page, HTTP_ACCEPT_LANGUAGE="en")
    assert shown.status_code == 200 and "ETag" not in shown  # a page to show once: never confirmed
    assert "This application can no longer be withdrawn." in text_of(shown)
    # Shown once: the next view is the page without it, which a reload of the first confirms.
    assert "can no longer be withdrawn" not in text_of(
        client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    )
    assert _reload(client, page, HTTP_ACCEPT_LANGUAGE="en").status_code == 304


def test_staff_pages_are_never_confirmed(client, make_user, dealer, timeline_cache):
    """A staff member's own application (they may buy a car too): their navbar depends on roles."""
    staff_customer = make_user("staff_buyer", Role.CUSTOMER, is_staff=True)
    application = in_review(staff_customer, dealer)
    client.force_login(staff_customer)
    page = client.get(detail_url(application))
    assert page.status_code == 200 and "ETag" not in page
    assert client.get(detail_url(application), HTTP_IF_NONE_MATCH="*").status_code == 200


def test_a_draft_continues_in_the_application_form_whatever_copy_is_held(
    client, customer, dealer, timeline_cache
):
    draft = make_draft(customer=customer, dealer=dealer)
    _sign_in(client, customer)
    response = client.get(detail_url(draft), HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 302 and response.url != detail_url(draft)


def test_without_the_cache_window_every_view_builds_the_page(client, customer, dealer, settings):
    settings.TIMELINE_CACHE_SECONDS = 0
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    page = client.get(detail_url(application))
    assert page.status_code == 200 and "ETag" not in page
    assert client.get(detail_url(application), HTTP_IF_NONE_MATCH="*").status_code == 200


def test_another_customer_never_gets_the_cached_body(
    client, customer, other_customer, dealer, timeline_cache
):
    application = in_review(customer, dealer)
    _sign_in(client, customer)
    assert client.get(detail_url(application)).status_code == 200
    client.force_login(other_customer)
    assert client.get(detail_url(application)).status_code == 404


# --- The latest events only ----------------------------------------------------------------------


def test_the_latest_events_keep_every_stage_change_and_the_true_total(customer, dealer):
    application = in_review(customer, dealer)
    grow_history(application, customer, documents=0, events=30)
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
