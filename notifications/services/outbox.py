"""The outbox: notifications written in the caller's transaction, one per dedupe key, each with its
email / SMS ``Delivery`` rows; the deliveries are queued only after commit."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..choices import STAFF_KINDS, Channel, DeliveryStatus
from ..models import ChannelPreference, Delivery, Notification
from .delivery import queue_deliveries, queue_relay, quiet_hours_end

if TYPE_CHECKING:
    from accounts.models import User
    from applications.models import LoanApplication


def notification_create(
    *,
    recipient_id: int,
    kind: str,
    dedupe_key: str,
    application: LoanApplication | None = None,
    application_id: int | None = None,
    context: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Create the notification unless one with this dedupe key exists; return it, or None if it did.
    What it is about: ``application`` or, from a stage hook, ``application_id``."""
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's transaction
            notification = Notification.objects.create(
                recipient_id=recipient_id,
                kind=kind,
                dedupe_key=dedupe_key,
                application_id=application.pk if application is not None else application_id,
                context=context or {},
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None
    deliveries_create(notification_ids=[notification.pk], now=notification.created_at)
    return notification


def notifications_mark_read(
    *, recipient: User, ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Mark the recipient's unread notifications read (all, or those ids); return how many."""
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


# --- Many at once (the sweep) -------------------------------------------------------------------


@dataclass(frozen=True)
class NewNotification:
    recipient_id: int
    kind: str
    dedupe_key: str
    application_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


def notifications_create_many(*, rows: list[NewNotification], now: dt.datetime) -> int:
    """Insert every row whose dedupe key is new and write its deliveries; return how many were new.

    Safe to repeat and to race: the unique dedupe key decides (``ON CONFLICT DO NOTHING``), so a
    second call with the same keys inserts nothing. The rows are copied (``COPY``) into a temporary
    table and one statement inserts the new notifications and their deliveries.
    """
    if not rows:
        return 0
    created = _insert_copied(rows=rows, now=now)
    if created:
        transaction.on_commit(queue_relay)
    return created


_STAGING = "notifications_staging"


def _insert_copied(*, rows: list[NewNotification], now: dt.datetime) -> int:
    meta = Notification._meta
    recipient = meta.get_field("recipient").column
    application = meta.get_field("application").column
    context = meta.get_field("context").column
    deliveries, delivery_params = _deliveries_insert(source="new", now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING}"
            " (recipient_id bigint, kind text, dedupe_key text, application_id bigint, context jsonb)"
            " ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGING}")
        # The recipients of one occurrence share its context dict (alive in ``rows``): dump it once.
        contexts: dict[int, str] = {}
        with cursor.copy(f"COPY {_STAGING} FROM STDIN") as copy:
            for row in rows:
                dumped = contexts.get(id(row.context))
                if dumped is None:
                    dumped = contexts[id(row.context)] = json.dumps(row.context, cls=DjangoJSONEncoder)
                copy.write_row((row.recipient_id, str(row.kind), row.dedupe_key, row.application_id, dumped))
        # Only names from the models, constants and placeholders are joined in; values are parameters.
        sql = " ".join(
            [
                "WITH new AS (INSERT INTO",
                meta.db_table,
                f"({recipient}, kind, dedupe_key, {application}, {context}, created_at)",
                "SELECT recipient_id, kind, dedupe_key, application_id, context, %s FROM",
                _STAGING,
                f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, {recipient} AS recipient_id, kind),",
                "sent AS (",
                deliveries,
                "RETURNING id) SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM sent)",
            ]
        )
        cursor.execute(sql, [now, *delivery_params])
        created, _sent = cursor.fetchone()
    return created


# --- The deliveries of new notifications --------------------------------------------------------


def deliveries_create(*, notification_ids: list[int], now: dt.datetime) -> int:
    """Write the email / SMS rows of new notifications, in the caller's transaction (the outbox),
    by the recipient's preferences; queue them after commit. SMS to customers only, and never in
    the quiet hours: a quiet-hours SMS waits, deferred, until 08:00.

    Set-based: one ``INSERT … SELECT`` (per batch of 500 ids) joins the notifications to their
    recipients and preferences, whatever the number of notifications.
    """
    if not notification_ids:
        return 0
    notification = Notification._meta
    recipient = notification.get_field("recipient").column
    written: list[tuple[int, str]] = []
    with connection.cursor() as cursor:
        for batch in chunks(notification_ids, 500):
            chosen = " ".join(
                [
                    f"WITH chosen AS (SELECT id, {recipient} AS recipient_id, kind FROM",
                    notification.db_table,
                    f"WHERE id IN ({_placeholders(batch)}))",
                ]
            )
            sql, params = _deliveries_insert(source="chosen", now=now)
            cursor.execute(f"{chosen} {sql} RETURNING id, status", [*batch, *params])
            written += cursor.fetchall()
    if written:
        ids = [pk for pk, status in written if status == DeliveryStatus.PENDING]
        transaction.on_commit(lambda: queue_deliveries(ids))
    return len(written)


def chunks(ids: Sequence[int], size: int = 5000) -> Iterator[Sequence[int]]:
    """``ids`` in slices of at most ``size``: no statement gets more parameters than that."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _placeholders(values: Sized) -> str:
    return ", ".join(["%s"] * len(values))


def _deliveries_insert(*, source: str, now: dt.datetime) -> tuple[str, list[Any]]:
    """SQL and parameters: INSERT … SELECT of the email and SMS deliveries of the notifications in
    ``source`` (SQL naming a relation with columns id, recipient_id, kind), by each recipient's
    address, phone and preferences. The unique (notification, channel) key makes it repeatable."""
    from django.contrib.auth import get_user_model

    later = quiet_hours_end(now)
    at, sms_due = (connection.ops.adapt_datetimefield_value(moment) for moment in (now, later or now))
    sms_status = DeliveryStatus.DEFERRED if later else DeliveryStatus.PENDING
    preference = ChannelPreference._meta
    recipients = (
        f"FROM {source} n JOIN {get_user_model()._meta.db_table} u ON u.id = n.recipient_id"
        f" LEFT JOIN {preference.db_table} p ON p.{preference.get_field('user').column} = u.id"
    )
    # Only names from the models, constants and placeholders are joined in; values are parameters.
    sql = " ".join(
        [
            "INSERT INTO",
            Delivery._meta.db_table,
            f"({Delivery._meta.get_field('notification').column}, channel, status, due_at, attempts, last_error)",
            "SELECT n.id, %s, %s, %s, 0, ''",
            recipients,
            "WHERE u.email <> '' AND COALESCE(p.email, %s)",
            "UNION ALL SELECT n.id, %s, %s, %s, 0, ''",
            recipients,
            f"WHERE u.phone_hash IS NOT NULL AND COALESCE(p.sms, %s) AND n.kind NOT IN ({_placeholders(STAFF_KINDS)})",
            "ON CONFLICT DO NOTHING",
        ]
    )
    params = [Channel.EMAIL, DeliveryStatus.PENDING, at, True, Channel.SMS, sms_status, sms_due, True]
    return sql, [*params, *sorted(STAFF_KINDS)]
