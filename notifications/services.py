"""Writes of the notifications app."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import channels
from .choices import STAFF_KINDS, Channel, DeliveryStatus, Kind
from .models import ChannelPreference, Delivery, Notification, SweepRun

logger = logging.getLogger(__name__)


def notification_create(
    *,
    recipient_id: int,
    kind: str,
    dedupe_key: str,
    application=None,
    application_id: int | None = None,
    context: dict | None = None,
    now=None,
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
    *, recipient, ids: list[int] | None = None, now: dt.datetime | None = None
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
    context: dict = field(default_factory=dict)


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
        transaction.on_commit(_enqueue_relay)
    return created


_STAGING = "notifications_staging"


def _insert_copied(*, rows: list[NewNotification], now: dt.datetime) -> int:
    meta = Notification._meta
    recipient, application, context = (
        meta.get_field(name).column for name in ("recipient", "application", "context")
    )
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


# --- The SLA sweep ------------------------------------------------------------------------------

SWEEP_NAME = "sla_sweep"
# Any constant shared by every process: pg_try_advisory_xact_lock's key for the sweep.
_SWEEP_LOCK_KEY = 5_215_001
NUDGE_FIRST_AFTER = dt.timedelta(hours=24)
NUDGE_EVERY = dt.timedelta(hours=48)
NUDGE_AT_MOST = 3


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    escalated_again: int = 0
    nudged: int = 0
    notifications: int = 0
    skipped: bool = False  # another sweep held the lock
    more: bool = False  # the pass stopped at its batch size: more stages are waiting for the next

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("skipped", "more")}


def _fraction_reached(num: int, den: int) -> str:
    """SQL: the stage has used at least num/den of its time (entry → due) at the parameter %s."""
    return f"(%s - stage_entered_at) * {den} >= (stage_due_at - stage_entered_at) * {num}"


# What the sweep's UPDATEs return of each application they change: all the notifications need.
_RETURNING = "RETURNING id, sla_state, stage, stage_entered_at, stage_due_at, customer_id, delay_reason_id"


def _returned(cursor) -> list[dict]:
    """The rows of a ``_RETURNING`` clause as dicts (the datetimes are aware: timestamptz)."""
    rows = []
    for pk, state, stage, entered, due, customer_id, reason_id in cursor.fetchall():
        rows.append(
            {
                "id": pk,
                "sla_state": state,
                "stage": stage,
                "stage_entered_at": entered,
                "stage_due_at": due,
                "customer_id": customer_id,
                "delay_reason_id": reason_id,
            }
        )
    return rows


def _batch_of(table: str, condition: str, limit: int) -> str:
    """SQL: ``id`` one of at most ``limit`` rows meeting ``condition``. No order: the rows are found by
    the same scan as a plain count of the condition, which stops once it has enough; asking for the
    longest overdue first would walk the due-time index row by row through every open file when
    almost none is changing, as on most passes. The rows are locked here and any a staff
    transition holds are skipped: the pass never waits on a reviewer, and the row is simply looked
    at again next time. ``ARRAY(…)`` makes the batch an InitPlan, chosen once: as ``id IN (…)`` the
    planner may rescan the subquery for each row of the UPDATE (a nested loop), and each rescan
    skips the rows just changed and hands over the next ones, so the pass changed every row."""
    # Only the table's name, SQL of this module's own and an integer are joined in.
    batch = f"SELECT id FROM {table} WHERE {condition} LIMIT {int(limit)} FOR UPDATE SKIP LOCKED"  # noqa: S608
    return f"id = ANY(ARRAY({batch}))"


def _sla_states_update(*, now: dt.datetime, limit: int) -> list[dict]:
    """One UPDATE over the open staff stages: set the SLA state from the clock of at most ``limit``
    applications whose state changes and return them (only those are notified)."""
    from applications.models import LoanApplication
    from applications.sla import AT_RISK_AT, STAFF_CLOCK_STAGES, SlaState

    table = LoanApplication._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    stages = sorted(STAFF_CLOCK_STAGES)
    state = (
        f"CASE WHEN stage_due_at <= %s THEN '{SlaState.BREACHED}'"
        f" WHEN {_fraction_reached(*AT_RISK_AT)} THEN '{SlaState.AT_RISK}'"
        f" ELSE '{SlaState.ON_TIME}' END"
    )
    in_stages = ", ".join(["%s"] * len(stages))
    # Only constants and placeholders are joined in; every value is a parameter.
    changing = f"stage IN ({in_stages}) AND stage_due_at IS NOT NULL AND sla_state <> {state}"
    sql = " ".join(
        ["UPDATE", table, "SET sla_state =", state, "WHERE", _batch_of(table, changing, limit), _RETURNING]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, at, *stages, at, at])
        changed = _returned(cursor)
    # Anything that left the staff clock without the hook (a data fix, an old row) is on time again.
    LoanApplication.objects.exclude(stage__in=stages).exclude(sla_state=SlaState.ON_TIME).update(
        sla_state=SlaState.ON_TIME, sla_escalated_at=None
    )
    return changed


def _escalate_again_update(*, now: dt.datetime, limit: int) -> list[dict]:
    """Overdue stages past 150 % of their time, not escalated a second time yet: mark at most
    ``limit`` of them and return them."""
    from applications.models import LoanApplication
    from applications.sla import ESCALATE_AGAIN_AT, SlaState

    table = LoanApplication._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    due = " ".join(
        [
            "sla_state = %s AND sla_escalated_at IS NULL AND stage_due_at IS NOT NULL AND",
            _fraction_reached(*ESCALATE_AGAIN_AT),
        ]
    )
    sql = " ".join(
        ["UPDATE", table, "SET sla_escalated_at = %s WHERE", _batch_of(table, due, limit), _RETURNING]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, SlaState.BREACHED, at])
        return _returned(cursor)


def _chunks(ids: list, size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _stamp(moment: dt.datetime) -> str:
    """The occurrence part of a dedupe key: the stage entry time, to the microsecond, in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")


class _Audience:
    """Who hears about an application's stage: its owner(s), the managers, the customer."""

    def __init__(self, application_ids: list[int]):
        from django.contrib.auth import get_user_model

        from accounts.roles import Role
        from applications.models import StageDefinition

        # The open assignments of the files whose owners are told: as many rows as changed state
        # this pass (a handful each beat), not every late file on the book.
        self.assignee: dict[int, int] = {}
        try:
            from reviews.models import Assignment
        except ImportError:  # the back office is optional for reminders
            pass
        else:
            for chunk in _chunks(application_ids):
                self.assignee.update(
                    Assignment.objects.filter(application_id__in=chunk, released_at__isnull=True).values_list(
                        "application_id", "assignee_id"
                    )
                )
        self.owner_role = dict(StageDefinition.objects.values_list("stage", "owner_role"))
        members: dict[str, list[int]] = {}
        for user_id, role in (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=set(self.owner_role.values()) | {Role.MANAGER})
            .values_list("pk", "groups__name")
        ):
            members.setdefault(role, []).append(user_id)
        self.members = members
        self.managers = members.get(Role.MANAGER, [])

    def owners(self, application: dict) -> list[int]:
        """The open assignment's assignee, else every active member of the stage's owner role."""
        if application["id"] in self.assignee:
            return [self.assignee[application["id"]]]
        return self.members.get(self.owner_role.get(application["stage"], ""), [])


def _sla_rows(*, changed: list[dict], again: list[dict]) -> list[NewNotification]:
    from applications.models import Reason
    from applications.sla import SlaState

    if not changed and not again:
        return []
    reasons = dict(Reason.objects.values_list("pk", "code"))
    audience = _Audience([app["id"] for app in changed])
    rows: list[NewNotification] = []

    def add(kind: str, app: dict, recipients: list[int], tag: str = "") -> None:
        context = {
            "stage": app["stage"],
            "due": app["stage_due_at"].isoformat() if app["stage_due_at"] else "",
            "reason": reasons.get(app["delay_reason_id"], ""),
        }
        if tag:
            context["level"] = tag
        occurrence = f"sla:{kind}{tag}:{app['id']}:{_stamp(app['stage_entered_at'])}"
        for recipient in recipients:
            rows.append(NewNotification(recipient, kind, f"{occurrence}:{recipient}", app["id"], context))

    for app in changed:
        if app["sla_state"] == SlaState.AT_RISK:
            add(Kind.SLA_AT_RISK, app, audience.owners(app))
        elif app["sla_state"] == SlaState.BREACHED:
            add(Kind.SLA_BREACHED, app, audience.owners(app))
            add(Kind.SLA_ESCALATION, app, audience.managers, tag="100")
            if app["customer_id"]:
                add(Kind.DELAY_NOTICE, app, [app["customer_id"]])
    for app in again:
        add(Kind.SLA_ESCALATION, app, audience.managers, tag="150")
    return rows


def _nudge_rows(*, now: dt.datetime) -> list[NewNotification]:
    """Missing-document reminders: 24 h after the request, then every 48 h, at most three.

    One query finds the applications due one (waiting on documents, with the count and time of
    the reminders sent since the stage began); the next number goes into the dedupe key.
    """
    from applications.choices import Stage
    from applications.models import LoanApplication

    sent = Notification.objects.filter(
        application_id=OuterRef("pk"),
        kind=Kind.DOCUMENTS_REMINDER,
        created_at__gte=OuterRef("stage_entered_at"),
    )
    due = (
        LoanApplication.objects.filter(stage=Stage.AWAITING_DOCUMENTS, customer__isnull=False)
        .filter(stage_entered_at__lte=now - NUDGE_FIRST_AFTER)
        .annotate(
            sent=Coalesce(Subquery(sent.values("application_id").annotate(n=Count("pk")).values("n")[:1]), 0),
            last=Subquery(sent.order_by("-created_at").values("created_at")[:1]),
        )
        .filter(Q(sent=0) | Q(sent__lt=NUDGE_AT_MOST, last__lte=now - NUDGE_EVERY))
        .values("id", "customer_id", "stage_entered_at", "sent")
    )
    return [
        NewNotification(
            app["customer_id"],
            Kind.DOCUMENTS_REMINDER,
            f"nudge:{app['id']}:{_stamp(app['stage_entered_at'])}:{app['sent'] + 1}",
            app["id"],
            {"stage": Stage.AWAITING_DOCUMENTS, "number": app["sent"] + 1},
        )
        for app in due
    ]


def _try_lock() -> bool:
    """Only one sweep at a time (released with the transaction); the dedupe keys would hold anyway."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SWEEP_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def sla_sweep(*, now: dt.datetime | None = None, batch: int | None = None) -> SweepResult:
    """One pass of the SLA clock, in one transaction: set each open staff stage's SLA state with one
    UPDATE, mark second escalations with another, then write the owner reminders, the manager
    escalations, the customer delay notices and the missing-document nudges (dedupe keys make a
    repeated or concurrent pass add nothing). Records the time of the run.

    A pass changes at most ``batch`` stages and marks at most ``batch`` second escalations
    (``SLA_SWEEP_BATCH``), so its transaction and the rows it locks stay
    small whatever the backlog: after an outage of beat or a data load, ``more`` says the pass
    stopped short and the task queues the next one at once."""
    from django.conf import settings

    now = now or timezone.now()
    batch = batch or settings.SLA_SWEEP_BATCH
    started = time.monotonic()
    result = SweepResult()
    with transaction.atomic():
        if not _try_lock():
            result.skipped = True
            return result
        changed = _sla_states_update(now=now, limit=batch)
        again = _escalate_again_update(now=now, limit=batch)
        result.more = len(changed) >= batch or len(again) >= batch
        rows = _sla_rows(changed=changed, again=again)
        nudges = _nudge_rows(now=now)
        result.at_risk = sum(app["sla_state"] == "at_risk" for app in changed)
        result.breached = sum(app["sla_state"] == "breached" for app in changed)
        result.escalated_again = len(again)
        result.nudged = len(nudges)
        result.notifications = notifications_create_many(rows=rows + nudges, now=now)
        SweepRun.objects.update_or_create(
            name=SWEEP_NAME,
            defaults={
                "finished_at": timezone.now(),
                "duration_ms": int((time.monotonic() - started) * 1000),
                "counts": result.as_dict(),
            },
        )
    return result


def sla_sweep_health(*, now: dt.datetime | None = None) -> tuple[dt.datetime | None, bool]:
    """The last successful sweep and whether it is stale (older than three beat intervals)."""
    from django.conf import settings

    now = now or timezone.now()
    last = SweepRun.objects.filter(name=SWEEP_NAME).values_list("finished_at", flat=True).first()
    interval = dt.timedelta(seconds=float(getattr(settings, "SLA_SWEEP_INTERVAL", 300)))
    return last, last is None or now - last > 3 * interval


# --- Delivery: email and SMS through the outbox ---------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_ATTEMPTS = 6
# A row left in "sending" this long belonged to a worker that died mid-send: the relay reclaims it.
STUCK_AFTER = dt.timedelta(minutes=10)
_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED)


def quiet_hours_end(moment: dt.datetime) -> dt.datetime | None:
    """The end of the SMS quiet hours (``SMS_QUIET_HOURS``, Shanghai time; by default 21:00–08:00)
    after ``moment`` if it falls in them, else None."""
    if not settings.SMS_QUIET_HOURS:
        return None
    start, end = settings.SMS_QUIET_HOURS
    local = moment.astimezone(SHANGHAI)
    now = local.time()
    quiet = (now >= start or now < end) if start > end else (start <= now < end)
    if not quiet:
        return None
    day = local.date() if now < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=SHANGHAI).astimezone(dt.UTC)


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
        for batch in _chunks(notification_ids, 500):
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
        transaction.on_commit(lambda: _enqueue(ids))
    return len(written)


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _deliveries_insert(*, source: str, now: dt.datetime) -> tuple[str, list]:
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


def _enqueue(ids: list[int]) -> None:
    """Queue each delivery; if the broker is down, log it and leave the rows to the relay."""
    from .tasks import deliver

    for pk in ids:
        try:
            deliver.delay(pk)
        except Exception:  # kombu raises several types for an unreachable broker
            logger.exception("Could not queue delivery %s; the relay will pick it up.", pk)
            return


def _enqueue_relay() -> None:
    from .tasks import relay

    try:
        relay.delay()
    except Exception:
        logger.exception("Could not queue the delivery relay; beat will run it.")


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Claim the delivery (one conditional UPDATE: exactly one caller wins), send it, mark it sent.

    Returns "sent", "failed" or "skipped" (not due, or someone else has it or sent it); raises
    ``channels.TransientDeliveryError`` after putting the row back to wait, so the task retries.
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status__in=_WAITING, due_at__lte=now).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("notification__recipient", "notification__application").get(
        pk=delivery_id
    )
    mine = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING)
    try:
        channels.send(delivery)
    except channels.TransientDeliveryError as exc:
        if delivery.attempts >= MAX_ATTEMPTS:
            mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:1000])
            return "failed"
        backoff = dt.timedelta(seconds=min(5 * 2 ** (delivery.attempts - 1), 120))
        mine.update(status=DeliveryStatus.PENDING, last_error=str(exc)[:1000], due_at=now + backoff)
        raise
    except channels.PermanentDeliveryError as exc:
        mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:1000])
        return "failed"
    mine.update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The relay's work: reclaim rows stuck in "sending" (their worker died), then return the ids
    of deliveries due now, oldest first."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        status=DeliveryStatus.PENDING, claimed_at=None, last_error="reclaimed: the worker stopped mid-send"
    )
    return list(
        Delivery.objects.filter(status__in=_WAITING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- The managers' daily digest -----------------------------------------------------------------


def digest_send(*, now: dt.datetime | None = None) -> int:
    """One summary a day for every active manager: breached, at-risk and open files in staff
    stages. The dedupe key carries the Shanghai date, so a rerun that day sends nothing more."""
    from django.contrib.auth import get_user_model

    from accounts.roles import Role
    from applications.models import LoanApplication
    from applications.sla import STAFF_CLOCK_STAGES, SlaState

    now = now or timezone.now()
    counts = LoanApplication.objects.filter(stage__in=STAFF_CLOCK_STAGES).aggregate(
        open=Count("pk"),
        breached=Count("pk", filter=Q(sla_state=SlaState.BREACHED)),
        at_risk=Count("pk", filter=Q(sla_state=SlaState.AT_RISK)),
    )
    day = timezone.localdate(now).isoformat()
    managers = (
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .values_list("pk", flat=True)
    )
    sent = 0
    for manager_id in managers:
        created = notification_create(
            recipient_id=manager_id,
            kind=Kind.DAILY_DIGEST,
            dedupe_key=f"digest:{day}:{manager_id}",
            context={**counts, "date": day},
            now=now,
        )
        sent += created is not None
    return sent


# --- Channel preferences --------------------------------------------------------------------------


def channel_preference_update(*, user, email: bool, sms: bool) -> ChannelPreference:
    """Set which channels besides the in-app inbox (always on) the user wants. Notifications
    created afterwards follow it (``deliveries_create``); deliveries already written are left
    as they are."""
    preference, _created = ChannelPreference.objects.update_or_create(
        user=user, defaults={"email": email, "sms": sms}
    )
    return preference
