"""Database helpers shared by the apps."""

from __future__ import annotations

import re
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import connection

# The statements prepared on each open PostgreSQL connection, by name; forgotten with it.
_prepared: WeakKeyDictionary[object, set[str]] = WeakKeyDictionary()

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def execute_prepared(cursor, name: str, statement: str, params: list) -> None:
    """Run ``statement`` (``%s`` placeholders, no other ``%``) with ``params`` on ``cursor``, as a
    statement PostgreSQL plans once per connection.

    Django's PostgreSQL cursors bind parameters on the client, so every statement is parsed and
    planned afresh. For the customer timeline's repeat views, whose one query joins three tables,
    planning cost more than running it (about 0.25 ms against 0.05 ms). So the first run on a
    connection declares it (``PREPARE name AS …``, which a rolled-back transaction keeps), and
    every run executes it by name (``EXECUTE name (…)``); both go through Django's cursor, so they
    are counted and logged like any query. On other databases, and with ``PG_PREPARED_STATEMENTS``
    off (a connection pooler in transaction mode that does not keep prepared statements), the
    statement simply runs.
    """
    if connection.vendor != "postgresql" or not settings.PG_PREPARED_STATEMENTS:
        cursor.execute(statement, params)
        return
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a statement name: {name!r}")
    prepared = _prepared.setdefault(connection.connection, set())
    if name not in prepared:
        numbered = statement % tuple(f"${number}" for number in range(1, len(params) + 1))
        cursor.execute(f"PREPARE {name} AS {numbered}")
        prepared.add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
