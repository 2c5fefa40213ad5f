"""``loanportal.db.execute_prepared``: statements PostgreSQL plans once per connection."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import _needs, postgres_configured
from loanportal.db import execute_prepared

pytestmark = pytest.mark.django_db

NAME = "loanportal_test_statement"
STATEMENT = "SELECT CAST(%s AS integer) + 1, %s"


def _run(value: int, word: str = "it's") -> tuple:
    with connection.cursor() as cursor:
        execute_prepared(cursor, NAME, STATEMENT, [value, word])
        return cursor.fetchone()


def test_it_answers_with_its_parameters_and_each_run_is_one_logged_query():
    _run(0)  # on PostgreSQL, the first run on a connection also declares the statement
    with CaptureQueriesContext(connection) as queries:
        assert _run(41) == (42, "it's")
        assert _run(1, "two") == (2, "two")
    assert len(queries) == 2
    assert "it''s" in queries[0]["sql"]  # the log shows the values, quoted as sent


def test_on_postgresql_it_runs_by_name_and_is_declared_once_per_connection():
    _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    with CaptureQueriesContext(connection) as queries:
        _run(1)
        _run(2)
    assert all(q["sql"].startswith(f"EXECUTE {NAME} (") for q in queries[-2:])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [NAME])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_on_a_new_connection_it_is_declared_again():
    _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    _run(1)
    connection.close()
    assert _run(5) == (6, "it's")


def test_off_it_simply_runs(settings):
    settings.PG_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries:
        assert _run(1) == (2, "it's")
    assert queries[0]["sql"].startswith("SELECT CAST(")


def test_a_name_that_is_not_an_identifier_is_refused():
    _needs("PostgreSQL", postgres_configured(), "DATABASE_URL=postgres://…")
    with connection.cursor() as cursor, pytest.raises(ValueError, match="not a statement name"):
        execute_prepared(cursor, "x; DROP TABLE y", STATEMENT, [1, "a"])
