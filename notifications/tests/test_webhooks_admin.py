"""Managers manage dealers' webhooks in the admin: endpoints, secrets shown once, the delivery log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from applications import services as core
from applications.models import DocumentType, Reason
from applications.tests.factories import in_review
from notifications.webhooks import services
from notifications.webhooks.choices import WebhookEvent, WebhookStatus
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint

ALL_EVENTS = [choice.value for choice in WebhookEvent]
ADD = reverse("admin:notifications_webhookendpoint_add")
ENDPOINTS = reverse("admin:notifications_webhookendpoint_changelist")
LOG = reverse("admin:notifications_webhookdelivery_changelist")


def endpoint_url(endpoint, action="change"):
    if action == "rotate":
        return reverse("admin:notifications_webhookendpoint_rotate", args=[endpoint.pk])
    return reverse(f"admin:notifications_webhookendpoint_{action}", args=[endpoint.pk])


@pytest.fixture
def endpoint(dealer):
    endpoint, _secret = services.webhook_endpoint_create(
        dealer=dealer, url="https://dms.example.cn/hooks", events=ALL_EVENTS, name="DMS"
    )
    return endpoint


@pytest.fixture
def deliveries(endpoint, customer, dealer, reviewer):
    """A documents request: two deliveries (stage changed, documents requested), among others."""
    core.review_request_documents(
        application=in_review(customer, dealer),
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )
    return WebhookDelivery.objects.all()


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(client, manager, dealer):
    client.force_login(manager)
    form = {
        "dealer": dealer.pk,
        "name": "DMS",
        "url": "https://dms.example.cn/hooks",
        "events": ALL_EVENTS[:2],
    }
    form["active"] = "on"
    response = client.post(ADD, form)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == sorted(ALL_EVENTS[:2])
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    page = client.get(endpoint_url(endpoint)).content.decode()
    assert endpoint.secret not in page
    assert endpoint_url(endpoint, "rotate") in page  # "Rotate secret"


def test_an_endpoint_on_a_private_address_is_refused(client, manager, dealer, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(manager)
    response = client.post(ADD, {"dealer": dealer.pk, "url": "https://10.0.0.8/hooks", "events": ALL_EVENTS})
    assert response.status_code == 200
    assert "不能向私有或保留网络地址发送 Webhook" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_manager_edits_an_endpoint_and_its_secret_stays(client, manager, endpoint):
    secret = endpoint.secret
    client.force_login(manager)
    form = {"name": "DMS v2", "url": "https://dms.example.cn/v2/hooks", "events": [WebhookEvent.DISBURSED]}
    response = client.post(endpoint_url(endpoint), form)
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.events, endpoint.active) == (
        "DMS v2",
        "https://dms.example.cn/v2/hooks",
        [WebhookEvent.DISBURSED],
        False,
    )
    assert endpoint.secret == secret


def test_a_manager_rotates_the_secret_with_an_overlap(client, manager, endpoint):
    old = endpoint.secret
    client.force_login(manager)
    assert client.get(endpoint_url(endpoint, "rotate")).status_code == 200
    response = client.post(endpoint_url(endpoint, "rotate"), {"overlap_hours": 24})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()
    assert old not in response.content.decode()
    assert endpoint.signing_secrets(timezone.now()) == [endpoint.secret, old]
    assert endpoint.signing_secrets(timezone.now() + dt.timedelta(hours=25)) == [endpoint.secret]


@pytest.mark.parametrize("who", ["reviewer", "approver", "finance"])
def test_other_staff_cannot_see_or_change_webhooks(client, request, who, endpoint, deliveries):
    client.force_login(request.getfixturevalue(who))
    for url in (ENDPOINTS, ADD, endpoint_url(endpoint), endpoint_url(endpoint, "rotate"), LOG):
        assert client.get(url).status_code == 403, url
    assert client.post(endpoint_url(endpoint, "rotate"), {"overlap_hours": 0}).status_code == 403
    assert (
        client.post(LOG, {"action": "send_again", "_selected_action": [deliveries[0].pk]}).status_code == 403
    )


def test_dealer_staff_and_customers_are_sent_to_the_admin_sign_in(client, dealer_user, customer, endpoint):
    for user in (dealer_user, customer):
        client.force_login(user)
        for url in (ENDPOINTS, endpoint_url(endpoint, "rotate"), LOG):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))


def test_the_delivery_log_filters_by_endpoint_status_and_event(client, manager, endpoint, deliveries):
    client.force_login(manager)
    documents = deliveries.get(event_type=WebhookEvent.DOCUMENTS_REQUESTED)
    WebhookDelivery.objects.filter(pk=documents.pk).update(status=WebhookStatus.FAILED, response_status=500)
    for query in (
        f"?endpoint__id__exact={endpoint.pk}",
        "?status__exact=failed",
        "?event_type__exact=application.documents_requested",
    ):
        response = client.get(LOG + query)
        assert response.status_code == 200
        assert documents in response.context["cl"].result_list
    failed = client.get(LOG + "?status__exact=failed").context["cl"].result_list
    assert list(failed) == [documents]


def test_the_delivery_log_costs_a_fixed_number_of_queries(
    client, manager, deliveries, django_assert_num_queries
):
    client.force_login(manager)
    client.get(LOG)  # warm the caches the frame reads
    # The user, their own and their groups' permissions; the endpoint filter's choices; the count;
    # the admin's frame (the role names, whether a manager); the page of rows, endpoint and
    # application joined (the session comes from the cache).
    with django_assert_num_queries(7):
        response = client.get(LOG)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == deliveries.count()


def test_send_again_is_a_new_attempt_on_the_same_row(client, manager, deliveries):
    client.force_login(manager)
    delivery = deliveries.first()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookStatus.FAILED, attempts=30)
    count = WebhookDelivery.objects.count()
    response = client.post(LOG, {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True)
    assert "1 条投递将立即重新尝试。" in response.content.decode()  # 1 delivery will be tried again now.
    delivery.refresh_from_db()
    assert delivery.status == WebhookStatus.PENDING
    assert delivery.due_at <= timezone.now()
    assert WebhookDelivery.objects.count() == count


def test_a_deliverys_page_shows_its_body_and_no_save_button(client, manager, deliveries):
    client.force_login(manager)
    delivery = deliveries.first()
    page = client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    ).content.decode()
    assert str(delivery.event_id) in page
    assert "&quot;occurred_at&quot;" in page
    assert 'name="_save"' not in page


@pytest.mark.parametrize(
    "url",
    [
        "ftp://dms.example.cn/hooks",
        "https://user:pw@dms.example.cn/hooks",
        "https://10.0.0.8/hooks",
        "dms example",
    ],
)
def test_a_refused_address_is_explained_once_next_to_the_field(client, manager, dealer, settings, url):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(manager)
    response = client.post(ADD, {"dealer": dealer.pk, "url": url, "events": ALL_EVENTS})
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["url"]
    assert len(errors["url"]) == 1, errors["url"]
    assert not WebhookEndpoint.objects.exists()
