"""``loanportal.postgresql``: the health check reads the socket before it asks the server.

Each test opens its own connection (``connections.create_connection``), so the test's own
connection and transaction are untouched when a server process is terminated.
"""

from __future__ import annotations

import select
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections

from conftest import _needs, postgres_configured

pytestmark = pytest.mark.django_db


@pytest.fixture
def own():
    """A second connection to the test database, with health checks on, as a request leaves it."""
    _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    wrapper = connections.create_connection("default")
    wrapper.settings_dict["CONN_HEALTH_CHECKS"] = True
    wrapper.ensure_connection()
    checks = []
    real_is_usable = wrapper.is_usable

    def counted_is_usable():
        checks.append(True)
        return real_is_usable()

    wrapper.is_usable = counted_is_usable
    wrapper.checks = checks
    yield wrapper
    wrapper.close()


def _next_request(wrapper) -> None:
    # What the request_started signal does between requests.
    wrapper.close_if_unusable_or_obsolete()


def _select_one(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def _terminate(wrapper) -> None:
    """End ``wrapper``'s server process from the test's connection, and wait until the server's
    last words have reached its socket."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [wrapper.connection.info.backend_pid])
    poller = select.poll()
    poller.register(wrapper.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(50) and time.monotonic() < deadline:
        pass


def test_settings_use_this_backend_on_postgresql():
    _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    assert settings.DATABASES["default"]["ENGINE"] == "loanportal.postgresql"
    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_quiet_idle_connection_is_used_without_asking_the_server(own):
    pid = own.connection.info.backend_pid
    for _ in range(3):
        _next_request(own)
        assert _select_one(own) == 1
    assert own.checks == []  # no SELECT 1 before the requests' queries
    assert own.connection.info.backend_pid == pid  # the same connection throughout


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(own):
    pid = own.connection.info.backend_pid
    _next_request(own)
    _terminate(own)
    assert _select_one(own) == 1  # no error reaches the request
    assert own.checks == [True]  # the server had spoken: Django's check ran, and failed
    assert own.connection.info.backend_pid != pid


def test_without_the_check_the_ended_connection_fails_the_query(own):
    # The counter-proof: this is what the health check saves a request from.
    own.health_check_enabled = False
    _next_request(own)
    _terminate(own)
    with pytest.raises(OperationalError):
        _select_one(own)


def test_a_connection_inside_a_transaction_gets_django_s_check(own):
    own.set_autocommit(False)
    try:
        _select_one(own)  # a transaction is open
        own.health_check_done = False  # as if a new request began with it open
        assert _select_one(own) == 1
        assert own.checks == [True]
    finally:
        own.rollback()
        own.set_autocommit(True)


def test_the_check_runs_once_a_request(own):
    _next_request(own)
    _terminate(own)
    _select_one(own)
    _select_one(own)
    assert own.checks == [True]
    _next_request(own)
    _select_one(own)
    assert own.checks == [True]  # the new connection is quiet


def test_a_connection_closed_on_our_side_is_replaced(own):
    pid = own.connection.info.backend_pid
    _next_request(own)
    own.connection.close()  # psycopg's connection, behind Django's back
    assert _select_one(own) == 1
    assert own.checks == [True]
    assert own.connection.info.backend_pid != pid
