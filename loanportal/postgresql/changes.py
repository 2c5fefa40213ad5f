"""What changed in the database, heard from PostgreSQL instead of asked for on every request.

The tables whose rows decide what a kept page may show (sessions, accounts, applications,
notifications) announce their changes from triggers that their apps' migrations install with
``announce_changes``. On commit, PostgreSQL sends one ``NOTIFY loanportal_changes`` per statement
with a tag for what was touched:

- ``u:12,40`` — the accounts whose pages may show something else (their own row, a file of theirs,
  their unread notifications);
- ``s:<md5>,…`` — sessions updated or deleted (signed out, expired, a message stored), by the MD5
  of the key, so session keys never travel;
- ``*`` — more than one notification can list: everything.

A trigger sees every write, whoever makes it: the services, the sweep's set-based updates, the
admin, a ``psql`` session. ``KeptAnswers`` holds answers (here: which kept page a visitor may be
served) that stay right until one of their tags is announced. Each process listens on a
connection of its own and, before it answers, reads what has arrived (a ``poll`` on the socket,
no round trip); a thread reads it between requests too, so that the server never waits on us. An answer is dropped when a tag of its is announced, when the listening connection
is lost (everything is: what was said meanwhile went unheard), and when the seconds its keeper
gave it have passed (``PG_LISTEN_TRUST_SECONDS`` for the timeline), which bounds the damage of a
connection that died without a word.

A change reaches the listener a moment after its commit: PostgreSQL signals the listening server
processes before it confirms the commit, and each forwards the notification when scheduled. A
request answered in between is answered as it would have been just before the commit (measured
in the README: most announcements are in the listener's socket before the writer's ``COMMIT``
returns).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connections

logger = logging.getLogger(__name__)

CHANNEL = "loanportal_changes"
EVERYTHING = "*"
# A notification's payload must stay under 8000 bytes; a trigger that has more to say says "*".
PAYLOAD_LIMIT = 7000


def user_tag(user_id: Any) -> str:
    return f"u:{user_id}"


def session_tag(session_key: str) -> str:
    return f"s:{hashlib.md5(session_key.encode(), usedforsecurity=False).hexdigest()}"


def tags_of(payload: str) -> list[str]:
    """The tags one notification announces: ``u:1,2`` → ``["u:1", "u:2"]``; ``*`` → ``["*"]``."""
    kind, _, keys = payload.partition(":")
    if kind == EVERYTHING or not keys:
        return [EVERYTHING]
    return [f"{kind}:{key}" for key in keys.split(",") if key]


# --- The triggers (installed by the apps' migrations) -------------------------------------------

_ANNOUNCE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION loanportal_announce(kind text, keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF cardinality(keys) = 0 THEN
        RETURN;
    END IF;
    payload := kind || ':' || array_to_string(keys, ',');
    IF octet_length(payload) > {PAYLOAD_LIMIT} THEN
        payload := '{EVERYTHING}';
    END IF;
    PERFORM pg_notify('{CHANNEL}', payload);
END
$$;
"""


@dataclass(frozen=True)
class Announcement:
    """One trigger: after each ``event`` statement on ``table``, announce ``kind`` with the
    distinct ``key`` of the rows ``where`` selects.

    ``key`` is an SQL expression over ``{row}``, a changed row; an UPDATE announces the keys of
    both versions of each row (``o`` the old, ``n`` the new, joined on ``pk``), and its ``where``
    may compare them. An INSERT's or DELETE's ``where`` is over ``r``.

    With ``columns`` (UPDATE only) the trigger is per row instead, and fires only for the rows an
    UPDATE changes in one of them: a set-based update of other columns (the sweep's SLA state on
    every late file) costs nothing, not even the transition tables' copy of its rows."""

    table: str
    event: str  # INSERT, UPDATE or DELETE
    kind: str
    key: str
    where: str = "TRUE"
    pk: str = "id"
    columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.table}_announce_{self.event.lower()}"

    # Statements built from a migration's constants (table, column and tag names, SQL expressions it
    # wrote); no value from outside ever reaches them.
    def create_sql(self) -> list[str]:
        if self.columns:
            return [_ANNOUNCE_FUNCTION, *self._row_level_sql()]
        if self.event == "UPDATE":
            pairs = f"FROM old_rows o JOIN new_rows n USING ({self.pk}) WHERE {self.where}"
            rows = (
                f"SELECT {self.key.format(row='o')} AS k {pairs} "
                f"UNION SELECT {self.key.format(row='n')} {pairs}"
            )
            referencing = "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        else:
            table = "new_rows" if self.event == "INSERT" else "old_rows"
            rows = f"SELECT {self.key.format(row='r')} AS k FROM {table} r WHERE {self.where}"  # noqa: S608
            referencing = f"REFERENCING {'NEW' if self.event == 'INSERT' else 'OLD'} TABLE AS {table}"
        function = f"""
CREATE OR REPLACE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM loanportal_announce('{self.kind}', ARRAY(SELECT DISTINCT k::text FROM ({rows}) changed WHERE k IS NOT NULL));
    RETURN NULL;
END
$$;
"""  # noqa: S608
        trigger = (
            f'CREATE TRIGGER {self.name} AFTER {self.event} ON "{self.table}" {referencing} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {self.name}()"
        )
        return [
            _ANNOUNCE_FUNCTION,
            function,
            f'DROP TRIGGER IF EXISTS {self.name} ON "{self.table}"',
            trigger,
        ]

    def _row_level_sql(self) -> list[str]:
        if self.event != "UPDATE":
            raise ValueError("only an UPDATE trigger names its columns")
        keys = f"VALUES ({self.key.format(row='OLD')}), ({self.key.format(row='NEW')})"
        function = f"""
CREATE OR REPLACE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM loanportal_announce('{self.kind}', ARRAY(SELECT DISTINCT k::text FROM ({keys}) changed (k) WHERE k IS NOT NULL));
    RETURN NULL;
END
$$;
"""  # noqa: S608
        listed = ", ".join(f'"{column}"' for column in self.columns)
        old = ", ".join(f'OLD."{column}"' for column in self.columns)
        new = ", ".join(f'NEW."{column}"' for column in self.columns)
        trigger = (
            f'CREATE TRIGGER {self.name} AFTER UPDATE OF {listed} ON "{self.table}" FOR EACH ROW '
            f"WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION {self.name}()"
        )
        return [function, f'DROP TRIGGER IF EXISTS {self.name} ON "{self.table}"', trigger]

    def drop_sql(self) -> list[str]:
        return [
            f'DROP TRIGGER IF EXISTS {self.name} ON "{self.table}"',
            f"DROP FUNCTION IF EXISTS {self.name}()",
        ]


def announce_changes(*announcements: Announcement):
    """A migration operation installing these triggers on PostgreSQL (other databases have no
    listener: nothing to install)."""
    from django.db import migrations

    def install(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for announcement in announcements:
                for statement in announcement.create_sql():
                    schema_editor.execute(statement)

    def remove(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for announcement in announcements:
                for statement in announcement.drop_sql():
                    schema_editor.execute(statement)

    return migrations.RunPython(install, remove, elidable=False)


# --- Listening ----------------------------------------------------------------------------------


class Listener:
    """This process's listening connection (opened on first use, after a fork anew)."""

    # After a failed attempt, wait this long before connecting again (requests meanwhile ask the
    # database as before).
    RETRY_SECONDS = 5.0
    # Reads of the socket in one call before giving up on it (each takes what libpq's buffer holds).
    MAX_READS = 1000

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.connection: psycopg.Connection | None = None
        self.pid = os.getpid()
        self.generation = 0  # a new one on every (re)connection: what was heard before may be gone
        self.retry_at = 0.0
        self._poller = None  # select.poll() of the connection's socket
        self._inherited: list[psycopg.Connection] = []

    def heard(self) -> list[str] | None:
        """The payloads that arrived since the last call, or None when not listening (then nothing
        can be trusted: an answer's changes may have gone unheard)."""
        if self.pid != os.getpid():
            # A forked child shares the parent's socket: never read or close it here.
            if self.connection is not None:
                self._inherited.append(self.connection)
            self.connection, self.pid = None, os.getpid()
        if self.connection is None and not self._connect():
            return None
        pgconn = self.connection.pgconn
        payloads = []
        try:
            # Until the socket is empty: libpq reads what fits its buffer at a time, and an
            # announcement left unread would leave a stale answer standing.
            for _ in range(self.MAX_READS):
                if not self._poller.poll(0):
                    return payloads
                pgconn.consume_input()
                if pgconn.status != psycopg.pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the listening connection is closed")
                while (notify := pgconn.notifies()) is not None:
                    payloads.append(notify.extra.decode())
            raise psycopg.OperationalError("the socket never ran dry")
        except (psycopg.Error, OSError, ValueError) as exc:
            logger.warning("Stopped listening for database changes (%s); reconnecting", exc)
            self.close()
            return None

    def _connect(self) -> bool:
        if time.monotonic() < self.retry_at:
            return False
        try:
            params = connections[self.alias].get_connection_params()
            params.pop("cursor_factory", None)
            params.setdefault("connect_timeout", 5)  # a request waits at most this long for it
            self.connection = psycopg.connect(
                **params,
                autocommit=True,
                # A connection that dies without a word is found within about 20 s.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=2,
            )
            self.connection.execute(f"LISTEN {CHANNEL}")
            self._poller = select.poll()
            self._poller.register(self.connection.pgconn.socket, select.POLLIN | select.POLLPRI)
        except (psycopg.Error, OSError) as exc:
            logger.warning(
                "Cannot listen for database changes (%s); retrying in %s s", exc, self.RETRY_SECONDS
            )
            self.close()
            self.retry_at = time.monotonic() + self.RETRY_SECONDS
            return False
        self.generation += 1
        return True

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(psycopg.Error):
                self.connection.close()
        self.connection = None


@dataclass(frozen=True)
class Ticket:
    """Taken before the database is read: an answer from that read may be kept only if the
    listener was listening throughout and heard nothing about it meanwhile."""

    generation: int
    heard: int


@dataclass
class _Kept:
    value: Any
    tags: frozenset[str]
    until: float  # time.monotonic()


class KeptAnswers:
    """Answers kept until a change to what they were read from is announced (see the module)."""

    def __init__(self, *, listener: Listener | None = None, max_entries: int = 2048) -> None:
        self.listener = listener or Listener()
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._by_tag: dict[str, set[Hashable]] = {}
        self._recent: deque[tuple[int, str]] = deque(maxlen=4096)  # (number, tag) of the latest heard
        self._heard = 0  # how many tags heard so far
        self._generation = -1  # the listener's, when the entries were last valid
        self._lock = threading.Lock()
        # A child forked while the reading thread held the lock would wait for it for ever.
        kept = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: kept() is not None and kept()._forked())

    def _forked(self) -> None:
        self._lock = threading.Lock()

    # Reading what arrived, under the lock.
    def _catch_up(self) -> bool:
        payloads = self.listener.heard()
        if payloads is None or self.listener.generation != self._generation:
            self._clear()
            if payloads is None:
                return False
            self._generation = self.listener.generation
            if self.listener.connection is not None:
                self._start_reading()
        for payload in payloads:
            for tag in tags_of(payload):
                self._heard += 1
                self._recent.append((self._heard, tag))
                if tag == EVERYTHING:
                    self._clear()
                else:
                    for key in self._by_tag.pop(tag, ()):
                        self._drop(key)
        return True

    # How long the reading thread waits for an announcement before it looks at the connection again.
    IDLE_WAIT_SECONDS = 30.0

    def _start_reading(self) -> None:
        threading.Thread(
            target=self._read_between_requests,
            args=(self.listener.connection, self._generation),
            name="loanportal-changes",
            daemon=True,
        ).start()

    def _read_between_requests(self, connection: psycopg.Connection, generation: int) -> None:
        """Read announcements as they arrive, also while this process serves no request.

        A listening connection that is not read leaves its server process blocked writing to it,
        and PostgreSQL cannot empty its notification queue past that point: the queue grows with
        every announcement until, full (8 GB), each commit that announces a change fails. Ends
        when the connection it reads is replaced or lost."""
        try:
            waiting = select.poll()
            waiting.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
        except (OSError, ValueError, psycopg.Error):
            return  # closed meanwhile
        while True:
            try:
                waiting.poll(self.IDLE_WAIT_SECONDS * 1000)
            except OSError:
                return
            with self._lock:
                if self.listener.connection is not connection or self._generation != generation:
                    return
                if not self._catch_up():
                    return

    def _clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()

    def _drop(self, key: Hashable) -> None:
        kept = self._entries.pop(key, None)
        if kept is None:
            return
        for tag in kept.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if not self._catch_up():
                return None
            kept = self._entries.get(key)
            if kept is None:
                return None
            if time.monotonic() >= kept.until:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return kept.value

    def ticket(self) -> Ticket | None:
        """Take before reading what an answer will be built from; None when not listening."""
        with self._lock:
            if not self._catch_up():
                return None
            return Ticket(self._generation, self._heard)

    def put(self, key: Hashable, value: Any, *, tags: Iterable[str], ticket: Ticket, seconds: float) -> bool:
        """Keep ``value`` for ``key`` until a tag of ``tags`` is announced or ``seconds`` pass.
        Not kept (False) when the listener was lost since ``ticket``, or something it heard since
        touched one of ``tags``: the value may be stale already."""
        tags = frozenset(tags)
        with self._lock:
            heard = self._heard_since(ticket)
            if heard is None or EVERYTHING in heard or not heard.isdisjoint(tags):
                return False
            self._drop(key)
            self._entries[key] = _Kept(value, tags, time.monotonic() + seconds)
            for tag in tags:
                self._by_tag.setdefault(tag, set()).add(key)
            while len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))
            return True

    def heard_since(self, ticket: Ticket) -> set[str] | None:
        """The tags announced since ``ticket`` (reading what has arrived), or None when that cannot
        be told: not listening, listening anew, or more heard than is remembered."""
        with self._lock:
            return self._heard_since(ticket)

    def _heard_since(self, ticket: Ticket) -> set[str] | None:
        if not self._catch_up() or self._generation != ticket.generation:
            return None
        if self._heard - ticket.heard > len(self._recent):
            return None
        since = set()
        for number, tag in reversed(self._recent):
            if number <= ticket.heard:
                break
            since.add(tag)
        return since

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self) -> None:
        with self._lock:
            self._clear()
