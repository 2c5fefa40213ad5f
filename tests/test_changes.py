"""``loanportal.postgresql.changes``: what the triggers announce, the listener, and the answers
kept until a change to what they were read from is announced.

The first part runs anywhere (a listener that says what the test tells it); the rest needs
PostgreSQL and commits, because a notification is sent only when its transaction commits.
"""

from __future__ import annotations

import select
import time

import pytest
from django.db import connection

from loanportal.postgresql import changes
from loanportal.postgresql.changes import KeptAnswers, Listener, session_tag, tags_of, user_tag

# --- Kept answers, with a listener the test speaks for ------------------------------------------


class ToldListener:
    """Says what the test queues; ``lost()`` makes it stop listening, ``reconnect()`` start anew."""

    connection = None  # nothing to read between requests

    def __init__(self) -> None:
        self.generation = 1
        self.listening = True
        self.queued: list[str] = []

    def heard(self):
        if not self.listening:
            return None
        queued, self.queued = self.queued, []
        return queued

    def say(self, *payloads: str) -> None:
        self.queued.extend(payloads)

    def lost(self) -> None:
        self.listening = False

    def reconnect(self) -> None:
        self.listening = True
        self.generation += 1


@pytest.fixture
def told():
    return ToldListener()


@pytest.fixture
def kept(told):
    return KeptAnswers(listener=told, max_entries=3)


def _put(kept, key, value, *tags, seconds=60):
    return kept.put(key, value, tags=tags, ticket=kept.ticket(), seconds=seconds)


def test_a_payload_names_its_tags():
    assert tags_of("u:12,40") == ["u:12", "u:40"]
    assert tags_of("s:abc") == ["s:abc"]
    assert tags_of("*") == ["*"]
    assert tags_of("garbled") == ["*"]  # what cannot be read counts as everything
    assert user_tag(7) == "u:7"
    assert session_tag("abc") == "s:900150983cd24fb0d6963f7d28e17f72"  # MD5, as the trigger computes it


def test_an_answer_is_kept_until_one_of_its_tags_is_announced(kept, told):
    assert _put(kept, "page", "v1", "u:1", "s:a")
    told.say("u:2", "s:b")  # someone else
    assert kept.get("page") == "v1"
    told.say("u:3,1")
    assert kept.get("page") is None


def test_everything_announced_drops_every_answer(kept, told):
    _put(kept, "one", 1, "u:1")
    _put(kept, "two", 2, "u:2")
    told.say("*")
    assert kept.get("one") is None and kept.get("two") is None


def test_nothing_is_kept_or_answered_while_not_listening(kept, told):
    _put(kept, "page", "v1", "u:1")
    told.lost()
    assert kept.ticket() is None
    assert kept.get("page") is None
    told.reconnect()  # what was said in between went unheard: the old answer is gone for good
    assert kept.get("page") is None


def test_an_answer_read_before_a_reconnection_is_not_kept(kept, told):
    ticket = kept.ticket()
    told.lost()
    told.reconnect()
    assert kept.put("page", "v1", tags=["u:1"], ticket=ticket, seconds=60) is False
    assert kept.get("page") is None


def test_an_answer_whose_rows_changed_while_it_was_read_is_not_kept(kept, told):
    ticket = kept.ticket()
    told.say("u:1")  # committed after the read began
    assert kept.put("page", "v1", tags=["u:1", "s:a"], ticket=ticket, seconds=60) is False
    ticket = kept.ticket()
    told.say("u:2")  # someone else's change does not matter
    assert kept.put("page", "v2", tags=["u:1", "s:a"], ticket=ticket, seconds=60) is True
    ticket = kept.ticket()
    told.say("*")
    assert kept.put("page", "v3", tags=["u:1"], ticket=ticket, seconds=60) is False


def test_when_more_was_heard_than_is_remembered_nothing_is_kept(kept, told):
    ticket = kept.ticket()
    told.say(*(f"u:{n}" for n in range(2, 5000)))
    assert kept.put("page", "v1", tags=["u:1"], ticket=ticket, seconds=60) is False
    assert kept.heard_since(ticket) is None


def test_an_answer_is_trusted_for_its_seconds_only(kept, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(changes.time, "monotonic", lambda: now[0])
    _put(kept, "page", "v1", "u:1", seconds=30)
    now[0] += 29.9
    assert kept.get("page") == "v1"
    now[0] += 0.2
    assert kept.get("page") is None


def test_the_oldest_answers_make_room(kept, told):
    for n in range(4):
        _put(kept, n, n, f"u:{n}")
    assert kept.get(0) is None
    assert [kept.get(n) for n in (1, 2, 3)] == [1, 2, 3]
    told.say("u:0")  # the dropped answer's tag is not remembered either
    assert kept._by_tag.keys() == {"u:1", "u:2", "u:3"}


# --- The triggers and the listener, on PostgreSQL -----------------------------------------------


@pytest.fixture
def listener():
    listener = Listener()
    listener.RETRY_SECONDS = 0
    assert listener.heard() == []
    yield listener
    listener.close()


def _heard(listener, *, expect: int = 1) -> list[str]:
    """What the listener hears within 5 s, waiting for at least ``expect`` notifications."""
    heard: list[str] = []
    deadline = time.monotonic() + 5
    while len(heard) < expect and time.monotonic() < deadline:
        heard += listener.heard()
        if len(heard) < expect:
            select.select([listener.connection.pgconn.socket], [], [], 0.05)
    return heard


def _settled(listener) -> list[str]:
    """Everything heard once the server has had time to deliver it (for "nothing was said")."""
    time.sleep(0.3)
    return listener.heard()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sign_in_changes_are_announced(listener, customer):
    from django.contrib.sessions.backends.db import SessionStore

    _settled(listener)  # the test's accounts were made
    store = SessionStore()
    store["x"] = 1
    store.create()
    assert _settled(listener) == []  # a new session concerns no kept answer
    store["x"] = 2
    store.save()
    assert _heard(listener) == [session_tag(store.session_key)]
    key = store.session_key
    store.delete()
    assert _heard(listener) == [session_tag(key)]
    type(customer).objects.filter(pk=customer.pk).update(is_active=False)
    assert _heard(listener) == [user_tag(customer.pk)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_file_announces_changes_its_customer_sees_not_the_sweeps_state(listener, customer, dealer):
    from applications.models import LoanApplication
    from applications.sla import SlaState
    from tests.browser.test_backoffice import in_review

    application = in_review(customer=customer, dealer=dealer)
    _settled(listener)
    LoanApplication.objects.filter(pk=application.pk).update(sla_state=SlaState.AT_RISK)
    assert _settled(listener) == []  # the sweep's column only: nothing the customer's page shows
    application.refresh_from_db()
    application.save()  # ``updated_at`` moves
    assert _heard(listener) == [user_tag(customer.pk)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unread_notifications_are_announced_for_their_recipients(listener, customer, other_customer):
    from notifications.choices import Kind
    from notifications.models import Notification
    from notifications.services import notifications_mark_read

    _settled(listener)
    for user, key in ((customer, "a"), (other_customer, "b")):
        Notification.objects.create(recipient=user, kind=Kind.DOCUMENTS_REQUESTED, dedupe_key=key)
    assert _heard(listener, expect=2) == [user_tag(customer.pk), user_tag(other_customer.pk)]
    Notification.objects.filter(recipient=customer).update(context={"seen": "no"})
    assert _settled(listener) == []  # not a change to what is unread
    notifications_mark_read(recipient=customer)
    assert _heard(listener) == [user_tag(customer.pk)]
    Notification.objects.filter(recipient=customer).delete()  # read already: the count stays
    Notification.objects.filter(recipient=other_customer).delete()
    assert _heard(listener) == [user_tag(other_customer.pk)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_too_large_to_list_is_announced_as_everything(listener, django_user_model):
    from notifications.choices import Kind
    from notifications.models import Notification

    # 2,000 ids do not fit one notification's payload.
    users = django_user_model.objects.bulk_create(
        django_user_model(username=f"bulk{n}", email=f"bulk{n}@example.com") for n in range(2000)
    )
    _settled(listener)
    Notification.objects.bulk_create(
        Notification(recipient=user, kind=Kind.DOCUMENTS_REQUESTED, dedupe_key=f"bulk-{user.pk}")
        for user in users
    )
    assert _heard(listener) == ["*"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_listener_notices_its_connection_ended_and_listens_again(listener, customer):
    _settled(listener)
    first = listener.connection.info.backend_pid
    generation = listener.generation
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    assert _lost(listener) is None  # not listening: nothing may be trusted
    assert listener.heard() == []  # connected again
    assert listener.generation == generation + 1 and listener.connection.info.backend_pid != first
    type(customer).objects.filter(pk=customer.pk).update(first_name="Mei")
    assert _heard(listener) == [user_tag(customer.pk)]


def _lost(listener):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        heard = listener.heard()
        if heard is None:
            return None
        time.sleep(0.02)
    return heard


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_forked_process_listens_on_its_own_connection(listener, monkeypatch):
    parents = listener.connection
    monkeypatch.setattr(changes.os, "getpid", lambda: listener.pid + 1)
    assert listener.heard() == []
    assert listener.connection is not parents and not parents.closed  # the parent's left alone
    parents.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_listener_that_cannot_connect_waits_before_trying_again(monkeypatch):
    listener = Listener()
    attempts = []

    def refused(**params):
        attempts.append(params)
        raise changes.psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(changes.psycopg, "connect", refused)
    assert listener.heard() is None and listener.heard() is None
    assert len(attempts) == 1  # the second call waits for RETRY_SECONDS
    monkeypatch.undo()
    listener.retry_at = 0
    assert listener.heard() == []
    listener.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_socket_that_never_runs_dry_is_given_up(listener):
    class AlwaysReadable:
        def poll(self, timeout):
            return [(0, select.POLLIN)]

    listener._poller = AlwaysReadable()
    assert listener.heard() is None  # not listening: nothing known is trusted
    assert listener.connection is None
    assert listener.heard() == []  # and a new connection next time


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_announcements_are_read_between_requests(customer):
    """Nobody asks, yet what arrives is read: a listener left unread would hold back PostgreSQL's
    notification queue (its server process blocked writing to it)."""
    kept = KeptAnswers()
    kept.put("page", "v1", tags=[user_tag(customer.pk)], ticket=kept.ticket(), seconds=60)
    assert len(kept) == 1
    try:
        with connection.cursor() as cursor:
            # More than the sockets hold: the server process waits for them to be read.
            cursor.execute(
                "SELECT pg_notify(%s, 'u:0' || g) FROM generate_series(1, 50000) g", [changes.CHANNEL]
            )
        type(customer).objects.filter(pk=customer.pk).update(first_name="Mei")
        deadline = time.monotonic() + 5
        while len(kept) and time.monotonic() < deadline:  # no get(), no ticket(): only the thread reads
            time.sleep(0.02)
        assert len(kept) == 0
    finally:
        kept.listener.close()


def test_a_forked_child_gets_a_lock_of_its_own(kept):
    """A fork while the reading thread holds the lock would leave the child waiting for ever."""
    import os

    kept._lock.acquire()
    try:
        child = os.fork()
        if child == 0:  # the child: answers at once, or the parent's wait below fails
            os._exit(0 if kept._lock.acquire(timeout=2) else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        kept._lock.release()
