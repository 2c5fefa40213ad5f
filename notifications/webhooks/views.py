"""The dealer's webhooks page (``/dealer/webhooks/``): dealers' staff manage their dealerships'
endpoints themselves (managers still can in the admin).

The same guard as the dealer workspace (``dealer_view``: anonymous visitors sign in, anyone but a
dealer's staff gets 403); another dealership's endpoint or delivery answers 404, as one that does not
exist would. Every write goes through ``services``. A secret is shown once, on the page that answers
the form that made it (never in a message or an address: those travel in a cookie, the session or
the history); the pages are never cached (``dealer_view``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from applications.dealer_selectors import dealer_dealerships
from applications.forms import add_service_errors
from applications.views.dealer.workspace import dealer_view

from . import selectors, services
from .choices import WebhookEvent, WebhookStatus
from .forms import DealerEndpointForm, RotateForm
from .models import WebhookEndpoint

LIST = "dealer_webhooks:list"


def _own_endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    endpoint = selectors.dealer_webhook_endpoint_get(user=request.user, pk=pk)
    if endpoint is None:
        raise Http404
    return endpoint


def _secret_page(
    request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, created: bool
) -> HttpResponse:
    return render(
        request,
        "notifications/webhooks/dealer/secret.html",
        {"endpoint": endpoint, "secret": secret, "created": created},
    )


@dealer_view
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    """The endpoints of the user's dealerships, each with its newest deliveries. Queries, whatever
    the number of endpoints: the user and their permissions (own and groups'), the endpoints with
    their dealership, their deliveries (a row number per endpoint) with each file's reference, the
    navbar's unread count. The session is in the cache."""
    endpoints = list(selectors.dealer_webhook_endpoints(user=request.user))
    deliveries = selectors.recent_deliveries(endpoint_ids=[e.pk for e in endpoints])
    labels = dict(WebhookEvent.choices)
    rows = [
        {
            "endpoint": endpoint,
            "events": [labels.get(event, event) for event in endpoint.events],
            "deliveries": deliveries.get(endpoint.pk, []),
        }
        for endpoint in endpoints
    ]
    return render(
        request,
        "notifications/webhooks/dealer/list.html",
        {"rows": rows, "failed": WebhookStatus.FAILED, "delivered": WebhookStatus.DELIVERED},
    )


@dealer_view
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest) -> HttpResponse:
    """Add an endpoint to one of the user's dealerships; the answer shows its secret once."""
    dealerships = dealer_dealerships(user=request.user)
    form = DealerEndpointForm(request.POST or None, dealerships=dealerships)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = services.webhook_endpoint_create(
                dealer=data["dealer"], url=data["url"], events=data["events"], name=data["name"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _secret_page(request, endpoint, secret, created=True)
    return render(
        request,
        "notifications/webhooks/dealer/form.html",
        {"form": form, "has_dealership": dealerships.exists()},
    )


@dealer_view
@require_http_methods(["GET", "POST"])
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret (shown once); the old one still signs posts for the overlap chosen."""
    endpoint = _own_endpoint(request, pk)
    form = RotateForm(request.POST or None)
    form.fields["overlap_hours"].help_text = _(
        "How long the old secret still signs posts beside the new one, while you switch your receiver "
        "over. 0: the old secret stops at once."
    )
    if request.method == "POST" and form.is_valid():
        secret = services.webhook_endpoint_rotate_secret(
            endpoint_id=endpoint.pk, overlap=dt.timedelta(hours=form.cleaned_data["overlap_hours"])
        )
        endpoint = _own_endpoint(request, pk)  # its new overlap, for the page
        return _secret_page(request, endpoint, secret, created=False)
    return render(request, "notifications/webhooks/dealer/rotate.html", {"endpoint": endpoint, "form": form})


@dealer_view
@require_POST
def endpoint_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _own_endpoint(request, pk)
    active = request.POST.get("active") == "1"
    services.webhook_endpoint_set_active(endpoint_id=endpoint.pk, active=active)
    if active:
        messages.success(
            request, _("The endpoint %(url)s is on again: new events are sent to it.") % {"url": endpoint.url}
        )
    else:
        messages.success(
            request,
            _("The endpoint %(url)s is switched off: nothing more is sent to it.") % {"url": endpoint.url},
        )
    return redirect(LIST)


@dealer_view
@require_POST
def delivery_send_again(request: HttpRequest, pk: int) -> HttpResponse:
    """One more attempt at a failed delivery of the user's dealerships (the admin's "send again")."""
    delivery = selectors.dealer_webhook_delivery_get(user=request.user, pk=pk)
    if delivery is None:
        raise Http404
    if delivery.status != WebhookStatus.FAILED:
        messages.info(request, _("Only a failed delivery can be sent again."))
    elif not delivery.endpoint.active:
        messages.warning(request, _("Switch the endpoint on first: a switched-off endpoint is sent nothing."))
    else:
        services.webhook_deliveries_send_again(delivery_ids=[delivery.pk])
        messages.success(request, _("The delivery will be tried again now."))
    return redirect(LIST)
