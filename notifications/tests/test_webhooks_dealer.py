"""Dealers' staff manage their own dealership's webhook endpoints at /dealer/webhooks/: add one (the
secret shown once), rotate its secret with an overlap, switch it off and on, send a failed delivery
again; another dealership's endpoint answers 404, customers get 403, anonymous visitors sign in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from applications import services as core
from applications.models import DocumentType, Reason
from applications.tests.factories import DealerFactory, in_review
from notifications.webhooks import services
from notifications.webhooks.choices import WebhookEvent, WebhookStatus
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

ALL_EVENTS = [choice.value for choice in WebhookEvent]
LIST = reverse("dealer_webhooks:list")
NEW = reverse("dealer_webhooks:create")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_dealer_user(make_user):
    user = make_user("other_dealer_staff", Role.DEALER)
    DealerFactory(name="Other Motors").staff.add(user)
    return user


@pytest.fixture
def personas(dealer_user, other_dealer_user, customer):
    return {"own": dealer_user, "other": other_dealer_user, "customer": customer, "anonymous": None}


def as_persona(client, personas, persona):
    if personas[persona] is not None:
        client.force_login(personas[persona])
    return client


def make_endpoint(dealer, url="https://dms.example.cn/hooks", **fields) -> WebhookEndpoint:
    endpoint, _secret = services.webhook_endpoint_create(dealer=dealer, url=url, events=ALL_EVENTS, **fields)
    return endpoint


@pytest.fixture
def endpoint(dealer):
    return make_endpoint(dealer, name="DMS")


@pytest.fixture
def failed_delivery(endpoint, customer, dealer, reviewer) -> WebhookDelivery:
    """A documents request writes deliveries to the endpoint; one of them has failed."""
    core.review_request_documents(
        application=in_review(customer, dealer),
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookStatus.FAILED, attempts=30, response_status=503, last_error="HTTP 503"
    )
    delivery.refresh_from_db()
    return delivery


def rotate_url(endpoint) -> str:
    return reverse("dealer_webhooks:rotate", args=[endpoint.pk])


def active_url(endpoint) -> str:
    return reverse("dealer_webhooks:set_active", args=[endpoint.pk])


def send_again_url(delivery) -> str:
    return reverse("dealer_webhooks:send_again", args=[delivery.pk])


def assert_refused(response, persona) -> None:
    if persona == "anonymous":
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    else:
        assert response.status_code == 403


# --- Who may open what ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["own", "other", "customer", "anonymous"])
def test_the_list_shows_own_dealerships_endpoints_only(client, personas, persona, endpoint):
    response = as_persona(client, personas, persona).get(LIST)

    if persona in ("customer", "anonymous"):
        assert_refused(response, persona)
        return
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    assert (endpoint.url in page) == (persona == "own")
    assert endpoint.secret not in page


@pytest.mark.parametrize("persona", ["own", "other", "customer", "anonymous"])
def test_the_add_page_is_for_dealers_staff(client, personas, persona):
    response = as_persona(client, personas, persona).get(NEW)

    if persona in ("customer", "anonymous"):
        assert_refused(response, persona)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("persona", ["own", "other", "customer", "anonymous"])
def test_only_the_endpoints_dealership_rotates_its_secret(client, personas, persona, endpoint):
    secret = endpoint.secret
    as_persona(client, personas, persona)

    get = client.get(rotate_url(endpoint))
    post = client.post(rotate_url(endpoint), {"overlap_hours": 0})

    endpoint.refresh_from_db()
    if persona == "own":
        assert (get.status_code, post.status_code) == (200, 200)
        assert endpoint.secret != secret
    else:
        assert endpoint.secret == secret
        if persona == "other":
            assert (get.status_code, post.status_code) == (404, 404)
        else:
            assert_refused(get, persona)
            assert_refused(post, persona)


@pytest.mark.parametrize("persona", ["own", "other", "customer", "anonymous"])
def test_only_the_endpoints_dealership_switches_it_off(client, personas, persona, endpoint):
    response = as_persona(client, personas, persona).post(active_url(endpoint), {"active": "0"})

    endpoint.refresh_from_db()
    assert endpoint.active == (persona != "own")
    if persona == "own":
        assert response.status_code == 302 and response.url == LIST
    elif persona == "other":
        assert response.status_code == 404
    else:
        assert_refused(response, persona)


@pytest.mark.parametrize("persona", ["own", "other", "customer", "anonymous"])
def test_only_the_endpoints_dealership_sends_a_failed_delivery_again(
    client, personas, persona, failed_delivery
):
    response = as_persona(client, personas, persona).post(send_again_url(failed_delivery))

    failed_delivery.refresh_from_db()
    if persona == "own":
        assert response.status_code == 302
        assert failed_delivery.status == WebhookStatus.PENDING
    else:
        assert failed_delivery.status == WebhookStatus.FAILED
        if persona == "other":
            assert response.status_code == 404
        else:
            assert_refused(response, persona)


def test_staff_of_the_back_office_are_refused(client, reviewer, manager, endpoint):
    for user in (reviewer, manager):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
        assert client.post(active_url(endpoint), {"active": "0"}).status_code == 403


# --- Adding an endpoint -------------------------------------------------------------------------------


def test_a_dealer_adds_an_endpoint_and_sees_its_secret_once(client, dealer_user, dealer):
    client.force_login(dealer_user)

    response = client.post(
        NEW,
        {"dealer": dealer.pk, "name": "DMS", "url": "https://dms.example.cn/hooks", "events": ALL_EVENTS[:2]},
    )

    assert response.status_code == 200  # the answer itself shows the secret: no redirect, no message
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.dealer, endpoint.url, endpoint.events, endpoint.active) == (
        dealer,
        "https://dms.example.cn/hooks",
        sorted(ALL_EVENTS[:2]),
        True,
    )
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    assert not list(response.wsgi_request._messages)
    assert endpoint.secret not in client.get(LIST).content.decode()


def test_staff_of_two_dealerships_see_and_add_to_both(client, dealer_user, dealer, endpoint):
    second = DealerFactory(name="Second Motors")
    second.staff.add(dealer_user)
    theirs = make_endpoint(second, url="https://second.example.cn/hooks")
    client.force_login(dealer_user)

    page = client.get(LIST).content.decode()
    client.post(NEW, {"dealer": second.pk, "url": "https://second.example.cn/v2", "events": ALL_EVENTS})

    assert endpoint.url in page and theirs.url in page
    assert second.webhook_endpoints.count() == 2


def test_a_dealer_cannot_add_an_endpoint_to_another_dealership(client, dealer_user, other_dealer_user):
    theirs = other_dealer_user.dealerships.get()
    client.force_login(dealer_user)

    response = client.post(
        NEW, {"dealer": theirs.pk, "url": "https://dms.example.cn/hooks", "events": ALL_EVENTS}
    )

    assert response.status_code == 200
    assert "dealer" in response.context["form"].errors
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://10.0.0.8/hooks", "不能向私有或保留网络地址发送 Webhook"),
        ("http://dms.example.cn/hooks", "地址必须以 https:// 开头"),
        ("not a url", "请输入合法的URL。"),
    ],
)
def test_a_bad_url_is_explained_next_to_the_field(client, dealer_user, dealer, settings, url, message):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(dealer_user)

    response = client.post(NEW, {"dealer": dealer.pk, "url": url, "events": ALL_EVENTS})

    assert response.status_code == 200
    assert "url" in response.context["form"].errors
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_needs_an_event(client, dealer_user, dealer):
    client.force_login(dealer_user)

    response = client.post(NEW, {"dealer": dealer.pk, "url": "https://dms.example.cn/hooks"})

    assert "请至少选择一个事件。" in response.content.decode()  # Choose at least one event.
    assert not WebhookEndpoint.objects.exists()


def test_a_dealer_without_a_dealership_is_told_to_ask_a_manager(client, make_user):
    client.force_login(make_user("lonely_dealer", Role.DEALER))

    response = client.get(NEW)

    assert response.status_code == 200
    assert not response.context["has_dealership"]


# --- Rotation, switching off, send again -----------------------------------------------------------


def test_a_dealer_rotates_the_secret_with_an_overlap(client, dealer_user, endpoint):
    old = endpoint.secret
    client.force_login(dealer_user)
    form = client.get(rotate_url(endpoint)).content.decode()
    assert "在您切换接收端期间" in form  # How long the old secret still signs posts … while you switch
    assert old not in form

    response = client.post(rotate_url(endpoint), {"overlap_hours": 24})

    endpoint.refresh_from_db()
    page = response.content.decode()
    assert endpoint.secret != old
    assert endpoint.secret in page
    assert old not in page
    assert endpoint.signing_secrets(timezone.now()) == [endpoint.secret, old]
    assert endpoint.signing_secrets(timezone.now() + dt.timedelta(hours=25)) == [endpoint.secret]
    assert endpoint.secret not in client.get(LIST).content.decode()


def test_an_overlap_beyond_a_week_is_refused(client, dealer_user, endpoint):
    old = endpoint.secret
    client.force_login(dealer_user)

    response = client.post(rotate_url(endpoint), {"overlap_hours": 24 * 7 + 1})

    assert response.status_code == 200
    assert "overlap_hours" in response.context["form"].errors
    endpoint.refresh_from_db()
    assert endpoint.secret == old


def test_a_switched_off_endpoint_is_sent_nothing_until_switched_on(
    client, dealer_user, endpoint, customer, dealer, reviewer
):
    client.force_login(dealer_user)

    client.post(active_url(endpoint), {"active": "0"})
    core.review_request_documents(
        application=in_review(customer, dealer),
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )

    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
    assert "已停用" in client.get(LIST).content.decode()  # Switched off

    response = client.post(active_url(endpoint), {"active": "1"}, follow=True)

    endpoint.refresh_from_db()
    assert endpoint.active
    assert response.redirect_chain[-1][0] == LIST


def test_the_list_shows_the_latest_deliveries_with_status_and_response_code(
    client, dealer_user, failed_delivery
):
    client.force_login(dealer_user)

    page = client.get(LIST).content.decode()

    assert f'data-delivery="{failed_delivery.pk}"' in page
    assert "503" in page
    assert send_again_url(failed_delivery) in page
    assert failed_delivery.body not in page


def test_send_again_is_a_new_attempt_on_the_same_row(client, dealer_user, failed_delivery):
    client.force_login(dealer_user)
    count = WebhookDelivery.objects.count()

    response = client.post(send_again_url(failed_delivery), follow=True)

    assert "这条投递将立即重新尝试。" in response.content.decode()  # The delivery will be tried again now.
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookStatus.PENDING
    assert failed_delivery.due_at <= timezone.now()
    assert WebhookDelivery.objects.count() == count


def test_a_delivery_that_has_not_failed_is_not_sent_again(client, dealer_user, failed_delivery):
    WebhookDelivery.objects.filter(pk=failed_delivery.pk).update(status=WebhookStatus.DELIVERED)
    client.force_login(dealer_user)

    client.post(send_again_url(failed_delivery))

    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookStatus.DELIVERED


def test_a_failed_delivery_of_a_switched_off_endpoint_waits_until_it_is_on(
    client, dealer_user, failed_delivery
):
    services.webhook_endpoint_set_active(endpoint_id=failed_delivery.endpoint_id, active=False)
    client.force_login(dealer_user)

    client.post(send_again_url(failed_delivery))

    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookStatus.FAILED


# --- The workspace links here; query counts ----------------------------------------------------------


def test_the_dealer_workspace_links_to_the_webhooks_page(client, dealer_user):
    client.force_login(dealer_user)

    assert f'href="{LIST}"' in client.get(reverse("applications:dealer_workspace")).content.decode()


def test_the_list_costs_the_same_whatever_its_length(
    client, dealer_user, dealer, customer, reviewer, django_assert_num_queries
):
    make_endpoint(dealer)
    in_review(customer, dealer)
    client.force_login(dealer_user)
    client.get(LIST)

    # The user, their permissions (their own and their groups'), the endpoints with their
    # dealership, their newest deliveries with each file's reference, the navbar's unread count.
    # The session is in the cache.
    with django_assert_num_queries(6):
        client.get(LIST)
    for number in range(3):
        make_endpoint(dealer, url=f"https://dms{number}.example.cn/hooks")
        core.review_request_documents(
            application=in_review(customer, dealer),
            actor=reviewer,
            document_types=[DocumentType.objects.get(code="bank_statement")],
            reason=Reason.objects.get(code="more_income_proof"),
        )
    assert WebhookDelivery.objects.count() > 4
    with django_assert_num_queries(6):
        client.get(LIST)
