"""Reads of the webhooks for dealers' staff (``views``): their dealerships' endpoints only.

Every read starts from the dealerships the user is staff of (``dealer_dealerships``), so another
dealership's endpoint or delivery is simply not found (the view answers 404). The secrets are never
loaded here: they are shown once, by the page that made them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from applications.dealer_selectors import dealer_dealerships

from .models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from accounts.models import User

RECENT_DELIVERIES = 5  # shown under each endpoint on the dealer's page

_SECRETS = ("secret", "previous_secret")


def dealer_webhook_endpoints(*, user: User) -> QuerySet[WebhookEndpoint]:
    """The endpoints of the user's dealerships (none for anyone but dealers' staff), with the
    dealership joined and without the secrets."""
    return (
        WebhookEndpoint.objects.filter(dealer__in=dealer_dealerships(user=user).values("pk"))
        .select_related("dealer")
        .defer(*_SECRETS)
        .order_by("dealer__name", "pk")
    )


def dealer_webhook_endpoint_get(*, user: User, pk: int) -> WebhookEndpoint | None:
    return dealer_webhook_endpoints(user=user).filter(pk=pk).first()


def dealer_webhook_delivery_get(*, user: User, pk: int) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(pk=pk, endpoint__in=dealer_webhook_endpoints(user=user).values("pk"))
        .select_related("endpoint")
        .only("pk", "status", "endpoint__active")
        .first()
    )


def recent_deliveries(
    *, endpoint_ids: list[int], per_endpoint: int = RECENT_DELIVERIES
) -> dict[int, list[WebhookDelivery]]:
    """The newest ``per_endpoint`` deliveries of each endpoint, in one query (a row number per
    endpoint), each with its file's reference; not the bodies."""
    if not endpoint_ids:
        return {}
    rows = (
        WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("endpoint_id")],
                order_by=[F("occurred_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=per_endpoint)
        .select_related("application")
        .only(
            "pk",
            "endpoint_id",
            "event_type",
            "occurred_at",
            "status",
            "attempts",
            "last_attempt_at",
            "delivered_at",
            "response_status",
            "last_error",
            # The file's reference, and its stage, which the state machine's guard reads on load.
            "application__reference",
            "application__stage",
        )
        .order_by("endpoint_id", "-occurred_at", "-pk")
    )
    found: dict[int, list[WebhookDelivery]] = defaultdict(list)
    for delivery in rows:
        found[delivery.endpoint_id].append(delivery)
    return dict(found)
