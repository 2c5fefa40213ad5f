"""Writes of the webhooks: endpoints and their secrets; deliveries written, sent, retried, sent again.

The retry schedule: a failed attempt (no answer within ``TIMEOUT`` seconds, a network error, or any
answer but 2xx — redirects are not followed) waits ``FIRST_RETRY`` doubled per attempt, at most
``LONGEST_WAIT`` (1, 2, 4 … 32 minutes, then hourly), and never beyond ``retry_until``: 24 hours
after the event, one last attempt is made then and, if it fails too, the delivery is marked failed.
The wait is kept on the row (``due_at``), which the relay (beat, every minute) finds: no Celery
countdown has to survive a restart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import requests
import urllib3
from django.db import connection, transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone

from applications.hooks import StageChange
from applications.models import Dealer, LoanApplication
from applications.reference import reference_data
from common.broker import publish

from . import payloads, signing
from .choices import WebhookStatus
from .models import WebhookDelivery, WebhookEndpoint
from .validators import local_http_allowed

logger = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds to connect, and to wait for each read of the answer
RETRY_FOR = dt.timedelta(hours=24)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=1)
# A row "sending" this long belongs to a worker that died mid-post (a post takes at most a few
# timeouts): the relay puts it back to wait.
STUCK_AFTER = dt.timedelta(minutes=2)
RESPONSE_KEPT = 1000  # characters of the answer's body kept on the row
ROTATION_OVERLAP = dt.timedelta(hours=24)
USER_AGENT = "LoanPortal-Webhooks/1"


# --- Endpoints ----------------------------------------------------------------------------------


def webhook_endpoint_create(
    *,
    dealer: Dealer,
    url: str,
    events: Iterable[str],
    name: str = "",
    active: bool = True,
    now: dt.datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Create the endpoint with a new secret; return it and the secret, to be shown once."""
    now = now or timezone.now()
    secret = signing.secret_new()
    endpoint = WebhookEndpoint(
        dealer=dealer,
        url=url,
        events=sorted(set(events)),
        name=name,
        active=active,
        secret=secret,
        secret_created_at=now,
        created_at=now,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, events: Iterable[str], name: str, active: bool
) -> WebhookEndpoint:
    """Change what the endpoint is sent and where; its secret stays."""
    endpoint.url = url
    endpoint.events = sorted(set(events))
    endpoint.name = name
    endpoint.active = active
    endpoint.full_clean()
    endpoint.save(update_fields=["url", "events", "name", "active"])
    return endpoint


def webhook_endpoint_set_active(*, endpoint_id: int, active: bool) -> bool:
    """Switch the endpoint on or off (its URL, events and secret stay). Off, it is written no new
    delivery, and one still waiting fails at its next attempt. Returns whether anything changed."""
    return bool(WebhookEndpoint.objects.filter(pk=endpoint_id).exclude(active=active).update(active=active))


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, endpoint_id: int, overlap: dt.timedelta = ROTATION_OVERLAP, now: dt.datetime | None = None
) -> str:
    """Give the endpoint a new secret and return it (to be shown once). Until ``now + overlap``
    posts are signed with the new and the old secret; after it, with the new one only. A rotation
    during an overlap drops the oldest secret at once: two at most."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    secret = signing.secret_new()
    keep_old = overlap > dt.timedelta(0)
    endpoint.previous_secret = endpoint.secret if keep_old else ""
    endpoint.previous_secret_until = now + overlap if keep_old else None
    endpoint.secret = secret
    endpoint.secret_created_at = now
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "secret_created_at"])
    return secret


def webhook_secrets_reencrypt() -> int:
    """Encrypt every endpoint's secrets again under the newest PII key (after a key rotation):
    reading decrypts with any key, saving encrypts with the first. Returns how many endpoints."""
    count = 0
    for endpoint in WebhookEndpoint.objects.order_by("pk").iterator(chunk_size=200):
        endpoint.save(update_fields=["secret", "previous_secret"])
        count += 1
    return count


# --- Deliveries written (the outbox) ------------------------------------------------------------


def webhook_deliveries_create(*, change: StageChange) -> list[int]:
    """Write a delivery for each active endpoint of the file's dealership that wants each of the
    change's events, in the caller's transaction; queue them after commit. Return the new ids.

    Repeatable: the event ids are derived from the history event, and a row already written for
    (endpoint, event id) is left as it is (``ON CONFLICT DO NOTHING``). One query when the
    dealership has no endpoint for these events.
    """
    types = payloads.event_types(change)
    if not types:
        return []
    dealer = LoanApplication.objects.filter(pk=change.application_id).values("dealer_id")
    endpoints = list(
        WebhookEndpoint.objects.filter(active=True, dealer_id=Subquery(dealer), events__overlap=types)
        .select_related("dealer")
        .only("pk", "events", "dealer__code")
    )
    if not endpoints:
        return []
    application = LoanApplication.objects.only("reference").get(pk=change.application_id)
    reference = reference_data()
    rows = []
    for event_type in types:
        subscribers = [endpoint for endpoint in endpoints if event_type in endpoint.events]
        if not subscribers:
            continue
        body = payloads.body_of(
            payloads.payload(
                change=change,
                event_type=event_type,
                application_reference=application.display_reference,
                dealer_code=subscribers[0].dealer.code,
                reference=reference,
            )
        )
        event_id = payloads.event_id(change, event_type)
        rows += [(endpoint.pk, event_id, str(event_type), body) for endpoint in subscribers]
    ids = _insert(rows=rows, application_id=change.application_id, occurred_at=change.created_at)
    if ids:
        transaction.on_commit(lambda: queue_deliveries(ids))
    return ids


def _insert(*, rows: list[tuple], application_id: int, occurred_at: dt.datetime) -> list[int]:
    """One INSERT of every new row, its columns as the model names them."""
    columns = [
        "endpoint_id",
        "event_id",
        "event_type",
        "body",
        "application_id",
        "occurred_at",
        "status",
        "attempts",
        "due_at",
        "retry_until",
        "response_body",
        "last_error",
    ]
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    params: list = []
    for endpoint_id, event_id, event_type, body in rows:
        params += [
            endpoint_id,
            event_id,
            event_type,
            body,
            application_id,
            occurred_at,
            WebhookStatus.PENDING,
            0,
            occurred_at,
            occurred_at + RETRY_FOR,
            "",
            "",
        ]
    # Only names from the model and placeholders are joined in; values are parameters.
    sql = " ".join(
        [
            "INSERT INTO",
            WebhookDelivery._meta.db_table,
            f"({', '.join(columns)}) VALUES",
            values,
            "ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def queue_deliveries(ids: list[int]) -> None:
    """Queue each delivery (after commit); if the broker is away, leave the rows to the relay
    (``common.broker.publish``: a hung broker costs one request its timeouts, not every one)."""
    from .tasks import webhook_deliver

    for pk in ids:
        if not publish(partial(webhook_deliver.delay, pk), what=f"webhook delivery {pk}"):
            return


# --- Deliveries sent ----------------------------------------------------------------------------


def retry_wait(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1 minute, doubled each time, at
    most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (timeout, refused, …)
    text: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def refused_address(url: str) -> str:
    """Why a post to ``url`` is refused now, or "": the URL was checked when it was saved, but its
    name may since resolve to an address inside our network (a private, loopback or reserved one),
    which the portal does not call (loopback only where plain local http is allowed)."""
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ""  # the post fails with its own error
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not address.is_global and not (address.is_loopback and local_http_allowed()):
            return f"Refused: {parts.hostname} resolves to a private or reserved address ({address})."
    return ""


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once: ``TIMEOUT`` seconds, no redirects followed, the answer's start kept."""
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
        ) as response:
            start = response.raw.read(RESPONSE_KEPT * 4, decode_content=True) or b""
            return Answer(status=response.status_code, text=start.decode(errors="replace")[:RESPONSE_KEPT])
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return Answer(status=None, text="", error=f"{type(exc).__name__}: {exc}"[:RESPONSE_KEPT])


def webhook_delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Claim the delivery (a conditional UPDATE: exactly one caller wins), post it, record the answer.

    Returns "delivered", "retry" (it waits for its next attempt), "failed" (the retries are over,
    or the endpoint was switched off) or "skipped" (not due, or another worker has it or sent it).
    Safe to call twice: the second call finds the row claimed or finished.
    """
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookStatus.PENDING, due_at__lte=now
    ).update(status=WebhookStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    # Only this claim's row: if the relay took it back meanwhile, another attempt owns it now.
    mine = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookStatus.SENDING, claimed_at=now)
    endpoint = delivery.endpoint
    if not endpoint.active:
        mine.update(status=WebhookStatus.FAILED, last_error="The endpoint is switched off.")
        return "failed"
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Webhook-Id": str(delivery.event_id),
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signing.signature_header(
            secrets=endpoint.signing_secrets(now), timestamp=timestamp, body=body
        ),
    }
    refused = refused_address(endpoint.url)
    if refused:
        answer = Answer(status=None, text="", error=refused)
    else:
        answer = post(url=endpoint.url, body=body, headers=headers)
    kept = {"response_status": answer.status, "response_body": answer.text, "last_error": answer.error}
    if answer.ok:
        mine.update(status=WebhookStatus.DELIVERED, delivered_at=now, **kept)
        return "delivered"
    if not kept["last_error"]:
        kept["last_error"] = f"HTTP {answer.status}"
    if now >= delivery.retry_until:
        mine.update(status=WebhookStatus.FAILED, **kept)
        return "failed"
    next_at = min(now + retry_wait(delivery.attempts), delivery.retry_until)
    mine.update(status=WebhookStatus.PENDING, due_at=next_at, **kept)
    return "retry"


def webhook_deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The relay's work: put rows stuck in "sending" back to wait (their worker died), then return
    the ids of the deliveries due now, oldest first."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(status=WebhookStatus.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        status=WebhookStatus.PENDING, claimed_at=None, last_error="Taken back: the worker stopped mid-send."
    )
    return list(
        WebhookDelivery.objects.filter(status=WebhookStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_deliveries_send_again(*, delivery_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """ "Send again" (the delivery log): a new attempt now for each delivery, on its own row.

    A delivery still being retried is simply tried now and keeps its schedule; a delivered or
    failed one gets one more attempt (if it fails, it is failed again). One being sent is left
    alone. Returns how many were queued.
    """
    now = now or timezone.now()
    ids = list(delivery_ids)
    rows = WebhookDelivery.objects.filter(pk__in=ids).exclude(status=WebhookStatus.SENDING)
    with transaction.atomic():
        waiting = rows.filter(status=WebhookStatus.PENDING).update(due_at=now)
        finished = rows.filter(Q(status=WebhookStatus.DELIVERED) | Q(status=WebhookStatus.FAILED)).update(
            status=WebhookStatus.PENDING, due_at=now, retry_until=now
        )
        queued = list(
            WebhookDelivery.objects.filter(pk__in=ids, status=WebhookStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        transaction.on_commit(lambda: queue_deliveries(queued))
    return waiting + finished
