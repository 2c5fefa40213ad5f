"""The customer timeline answered without a query while the server listens for changes.

On PostgreSQL, with ``PG_LISTEN``, a repeat view that an earlier view checked is served with no
query until the database announces a change to what was checked: the session, the account, the
file, the unread count (``loanportal.postgresql.changes``). These tests commit their changes, as
production does (an announcement is sent on commit), and wait for the announcement to arrive
before the next view: the moment between a commit and its announcement is the one stale window.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from contextlib import contextmanager

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.views.timeline import known_pages
from loanportal.postgresql import changes
from loanportal.postgresql.changes import session_tag, user_tag
from notifications.choices import Kind as NotificationKind
from notifications.models import Notification
from notifications.services import notifications_mark_read
from tests.browser.test_backoffice import in_review

from .test_timeline import detail_url, text_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BADGE = re.compile(r'lp-unread-badge">(\d+)<')


@pytest.fixture(autouse=True)
def listening(settings):
    settings.TIMELINE_CACHE_SECONDS = 60
    settings.PG_LISTEN = True
    cache.clear()
    caches["pages"].clear()
    yield
    known_pages.listener.close()  # before the test database is dropped
    known_pages.forget()
    cache.clear()
    caches["pages"].clear()


@contextmanager
def announced(*tags: str):
    """Wait, after the block, until the server process has heard ``tags`` announced."""
    ticket = known_pages.ticket()
    assert ticket is not None, "listening"
    yield
    deadline = time.monotonic() + 5
    while not set(tags) <= (known_pages.heard_since(ticket) or set()):
        assert time.monotonic() < deadline, f"{tags} not announced"
        time.sleep(0.01)


def _view(client, application, *, queries: int | None = None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    if queries is not None:
        assert len(captured) == queries, [q["sql"][:80] for q in captured]
    return response


def _known(client, customer, application):
    """Signed in; the page checked and built, and from then on known (no query)."""
    client.force_login(customer)
    _view(client, application)
    return _view(client, application, queries=0)


def _tokens(content: bytes) -> set[bytes]:
    return set(re.findall(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content))


def _without_tokens(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def test_a_known_repeat_view_asks_the_database_nothing(client, customer, dealer):
    application = in_review(customer=customer, dealer=dealer)
    client.force_login(customer)
    # Checked (the session, account, file and unread count in one row), then built and kept.
    built = _view(client, application)
    known = _view(client, application, queries=0)
    again = _view(client, application, queries=0)
    assert known.status_code == 200 and known.headers["Content-Language"] == "en"
    assert _without_tokens(known.content) == _without_tokens(again.content) == _without_tokens(built.content)
    assert _tokens(known.content).isdisjoint(_tokens(again.content))  # masked afresh
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in known.headers["Vary"].split(",")}


def test_a_stage_change_shows_on_the_next_view(client, customer, dealer, reviewer):
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    with announced(user_tag(customer.pk)):
        services.review_recommend(application=application, actor=reviewer, note="fine")
    page = text_of(_view(client, application))
    assert "Credit review finished: your application went to approval" in page


def test_a_signed_out_session_is_not_served_the_known_page(client, customer, dealer):
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with announced(session_tag(session_key)):
        client.post(reverse("accounts:logout"))
    replayed = Client()  # someone holding the old session cookie, and no other
    replayed.cookies[settings.SESSION_COOKIE_NAME] = session_key
    response = _view(replayed, application)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    "change",
    [{"password": make_password("a-New-passphrase-43")}, {"is_active": False}],
    ids=["password changed", "deactivated"],
)
def test_an_account_changed_behind_the_application_s_back_is_checked_again(client, customer, dealer, change):
    """A set-based UPDATE (no model signal): the trigger still announces it."""
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    with announced(user_tag(customer.pk)):
        type(customer).objects.filter(pk=customer.pk).update(**change)
    response = _view(client, application)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_a_new_notification_and_reading_it_show_in_the_navbar(client, customer, dealer):
    application = in_review(customer=customer, dealer=dealer)
    before = BADGE.search(_known(client, customer, application).content.decode())
    unread = int(before.group(1)) if before else 0
    with announced(user_tag(customer.pk)):
        Notification.objects.create(
            recipient=customer, kind=NotificationKind.DOCUMENTS_REQUESTED, dedupe_key="known-page-test"
        )
    assert BADGE.search(_view(client, application).content.decode()).group(1) == str(unread + 1)
    with announced(user_tag(customer.pk)):
        notifications_mark_read(recipient=customer)
    assert BADGE.search(_view(client, application).content.decode()) is None


def test_a_message_stored_in_the_session_shows_once(client, settings, customer, dealer):
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with announced(session_tag(session_key)):
        # Withdrawing needs a confirmation: the POST withdraws and says so.
        client.post(reverse("applications:withdraw", args=[application.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Your application has been withdrawn." in text_of(_view(client, application))
    assert "has been withdrawn." not in text_of(_view(client, application))


def test_changes_made_while_not_listening_are_not_missed(client, customer, dealer):
    """The listening connection ends; a name changes before it is back: nothing known before is
    trusted, so each page's next view checks the database and shows the new name."""
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    whole_history = f"{detail_url(application)}?history=all"
    client.get(whole_history, HTTP_ACCEPT_LANGUAGE="en")
    with CaptureQueriesContext(connection) as known:
        client.get(whole_history, HTTP_ACCEPT_LANGUAGE="en")
    assert len(known) == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [known_pages.listener.connection.info.backend_pid])
    type(customer).objects.filter(pk=customer.pk).update(first_name="Mei", last_name="Chen")
    time.sleep(0.2)  # the server's farewell reaches the listening socket
    with CaptureQueriesContext(connection) as checked:
        page = _view(client, application)  # finds the connection lost, and listens again
    assert "Mei Chen" in text_of(page) and len(checked) >= 1
    with CaptureQueriesContext(connection) as checked:
        page = client.get(whole_history, HTTP_ACCEPT_LANGUAGE="en")  # known before: checked again
    assert "Mei Chen" in text_of(page) and len(checked) >= 1
    _view(client, application, queries=0)  # known again


def test_a_known_page_is_checked_again_after_the_trusted_seconds(
    client, settings, customer, dealer, monkeypatch
):
    settings.PG_LISTEN_TRUST_SECONDS = 30
    application = in_review(customer=customer, dealer=dealer)
    _known(client, customer, application)
    later = time.monotonic() + 31
    monkeypatch.setattr(changes.time, "monotonic", lambda: later)
    _view(client, application, queries=1)


def test_a_session_about_to_expire_is_trusted_until_it_expires(client, customer, dealer, monkeypatch):
    application = in_review(customer=customer, dealer=dealer)
    client.force_login(customer)
    session = client.session
    session.set_expiry(5)  # seconds from now
    session.save()
    _view(client, application)
    _view(client, application, queries=0)
    later = time.monotonic() + 6
    monkeypatch.setattr(changes.time, "monotonic", lambda: later)
    cache.clear()  # as when the session's cached copy expires with it
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
        response = _view(client, application)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_without_listening_every_repeat_view_is_checked(client, settings, customer, dealer):
    settings.PG_LISTEN = False
    application = in_review(customer=customer, dealer=dealer)
    client.force_login(customer)
    _view(client, application)
    _view(client, application, queries=1)  # the check, every time
    _view(client, application, queries=1)
