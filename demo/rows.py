"""Rows straight into PostgreSQL: the demo's bulk writer.

Why not the services or ``bulk_create``: the service path locks and saves one row at a time,
which would take hours for a million applications, and ``bulk_create`` spends minutes on
per-object bookkeeping the loader does not need. Rows are converted to database values as the
ORM would (``prepare_rows``) and streamed with one ``COPY`` per table (``write_rows``); for a
large seed of a database nobody else uses, ``checks_set_aside`` drops the tables' foreign keys
and plain indexes and rebuilds them at the end, as ``pg_restore`` does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

from django.apps import apps as django_apps
from django.db import connections, models, router
from django.utils import timezone


@dataclass
class PreparedRows:
    """Rows of one table, converted to database values, in ``columns`` order.

    The rows are COPY text lines, made in the worker so that this process only streams them. A
    table of an application's rows has ``application_id`` first, holding the application's index
    in its batch until ``link`` puts in the real ids.
    """

    model: str  # app_label.ModelName: picklable, for rows made in a worker process
    columns: list[str]  # attnames
    lines: list[str]  # COPY text, without the leading application id while unlinked
    owners: list[int] | None = None  # the application index of each line

    def __len__(self) -> int:
        return len(self.lines)

    def link(self, pks: list[int]) -> None:
        self.lines = [
            f"{pks[owner]}\t{line}" for owner, line in zip(self.owners or (), self.lines, strict=True)
        ]


def _column_converter(field: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """The field's conversion to a database value; None when the value goes in as it is.

    Plain text, integer, boolean and key columns need no conversion (both drivers bind a choices
    enum, a ``str`` subclass, as its text); dates and times go through the backend's adapter; JSON
    is serialised as the field would; everything else (encrypted text, decimals, UUIDs, files)
    through the field's own ``get_db_prep_save``. Every result is a plain, picklable value.
    """
    kind = type(field)
    if kind in (
        models.CharField,
        models.TextField,
        models.SlugField,
        models.EmailField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.BigIntegerField,
        models.BooleanField,
        models.ForeignKey,
        models.OneToOneField,
        models.FileField,  # given as the stored name, which is the column's value
    ):
        return None
    if kind is models.DateTimeField:
        return connection.ops.adapt_datetimefield_value
    if kind is models.DateField:
        return connection.ops.adapt_datefield_value
    if kind is models.JSONField:
        # Text rather than the driver's JSON wrapper, so that rows made in a worker can be pickled;
        # COPY reads JSON columns from text.
        return partial(_json_text, field.encoder)
    return partial(_prep, field, connection)


def _json_text(encoder: Any, value: Any) -> str | None:
    return None if value is None else json.dumps(value, cls=encoder)


def _prep(field: models.Field, connection: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _default_prep(field: models.Field, convert: Callable[[Any], Any] | None) -> Any:
    value = field.get_default()
    return convert(value) if convert else value


def prepare_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> PreparedRows:
    """Convert rows (``attname -> value``) to database values as the ORM would.

    A column the rows leave out gets the field's default (a callable one called per row), an
    ``auto_now`` column the current time. Every model written here has an automatic primary key,
    which the database assigns.
    """
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    given = rows[0].keys() if rows else ()
    plain, converted, constant, per_row = [], [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        convert = _column_converter(f, connection)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            constant.append((f, convert(now) if convert else now))
        elif f.attname not in given:
            if callable(f.default):
                per_row.append((f, partial(_default_prep, f, convert)))
            else:
                default = f.get_default()
                constant.append((f, convert(default) if convert else default))
        elif convert is None:
            plain.insert(0, f) if f.attname == "application_id" else plain.append(f)
        else:
            converted.append((f, convert))
    get_plain = itemgetter(*[f.attname for f in plain]) if plain else (lambda row: ())
    if len(plain) == 1:
        get_plain = (lambda getter: lambda row: (getter(row),))(get_plain)
    to_convert = [(f.attname, convert) for f, convert in converted]
    constants = tuple(value for _f, value in constant)
    makers = [make for _f, make in per_row]
    values = [
        (
            *get_plain(row),
            *[convert(row[name]) for name, convert in to_convert],
            *constants,
            *[m() for m in makers],
        )
        for row in rows
    ]
    fields = [*plain, *(f for f, _c in converted), *(f for f, _v in constant), *(f for f, _m in per_row)]
    columns = [f.attname for f in fields]
    if columns[0] == "application_id":
        lines = ["\t".join(map(_copy_text, row[1:])) + "\n" for row in values]
        return PreparedRows(model._meta.label, columns, lines=lines, owners=[row[0] for row in values])
    return PreparedRows(
        model._meta.label, columns, lines=["\t".join(map(_copy_text, row)) + "\n" for row in values]
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format (``\\N`` for NULL, backslash escapes in text)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # Most text has nothing to escape, and four searches cost a fraction of one translate.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # datetimes too: ISO 8601 with the offset, which PostgreSQL reads
        return value.isoformat()
    return str(value)  # int, Decimal, UUID


def write_rows(prepared: PreparedRows) -> None:
    """Insert prepared rows in one statement stream.

    Why not ``bulk_create``: for a million rows it spends minutes on per-object bookkeeping this
    generator does not need (related-object checks, every field's full preparation chain, SQL
    assembled per chunk and, with DEBUG on, every parameter quoted into the query log). One
    ``COPY``, as a round trip per row costs far more.
    """
    if not len(prepared):
        return
    model = django_apps.get_model(prepared.model)
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(model._meta.get_field(name).column) for name in prepared.columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        copy.write("".join(prepared.lines))


@contextmanager
def checks_set_aside(model_list: Sequence[type[models.Model]]) -> Iterator[None]:
    """Inside a transaction: drop the tables' foreign keys and plain (non-unique)
    indexes, and put them back, exactly as they were, when the block ends.

    Why: a foreign key checks every inserted row with a query of its own (deferred to the commit,
    where for a million applications some 60 million checks wait in memory), and every index is
    updated row by row. Put back afterwards, an index is built by one sort and a foreign key
    validated by one join: several times faster, as ``pg_restore`` knows. Unique indexes and
    primary keys stay, as the inserts look rows up by them. The definitions are PostgreSQL's own
    (``pg_get_indexdef``, ``pg_get_constraintdef``); as it all happens in the caller's transaction,
    a failure puts everything back by rolling back. The tables stay locked against other sessions
    until then, so this is for large seeds of a database nobody is using.
    """
    connection = connections[router.db_for_write(model_list[0])]
    if not connection.in_atomic_block:
        yield
        return
    tables = [model._meta.db_table for model in model_list]
    # Checks this transaction still owes (rows written before) run now: PostgreSQL will not alter
    # a table with pending trigger events.
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)"
            " ORDER BY conrelid, conname",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY i.indrelid, i.indexrelid",
            [tables],
        )
        indexes = cursor.fetchall()
        # Names and definitions come from the catalogue, quoted by PostgreSQL itself.
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
