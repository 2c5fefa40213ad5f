"""The error pages: in the site's frame and the visitor's language, each with a way back; staff who
reach a customer page are sent to the back office; the 500 page needs nothing but static files."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts.roles import Role

from .factories import detail_url, in_review, text_of

pytestmark = pytest.mark.django_db


def _broken_view(request):
    raise RuntimeError("a bug on our side")


def _suspicious_view(request):
    raise SuspiciousOperation("a tampered request")


# This module is also the URLconf of the 400 and 500 tests: the site's own pages plus two that fail.
urlpatterns = [
    path("broken/", _broken_view),
    path("suspicious/", _suspicious_view),
    path("", include("loanportal.urls")),
]

HOME = reverse("applications:home")


def test_a_missing_page_says_so_in_chinese_with_the_way_back(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assertContains(response, '<html lang="zh-hans">', status_code=404)
    assertContains(response, "找不到这个页面", status_code=404)
    assertContains(response, f'href="{HOME}"', status_code=404)  # the brand and "back to the home page"
    assertContains(response, "返回首页", status_code=404)
    assertContains(response, "lp-navbar", status_code=404)  # the site's own frame


def test_a_missing_page_in_english_for_a_visitor_who_chose_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/no-such-page/")

    assertContains(response, '<html lang="en">', status_code=404)
    assertContains(response, "We cannot find this page", status_code=404)
    assertContains(response, "Back to the home page", status_code=404)
    assertNotContains(response, "找不到", status_code=404)


def test_someone_elses_application_is_the_same_404_page(client, customer, other_customer, dealer):
    application = in_review(other_customer, dealer)
    client.force_login(customer)

    response = client.get(detail_url(application))

    assertContains(response, "找不到这个页面", status_code=404)
    assertContains(response, reverse("applications:list"), status_code=404)


def test_a_refused_page_is_403_in_the_frame_with_the_way_back(client, customer):
    client.force_login(customer)  # a customer is no manager

    response = client.get(reverse("reports:sla"))

    assert response.status_code == 403
    assertContains(response, "您无权访问此页面", status_code=403)
    assertContains(response, "返回首页", status_code=403)
    assertNotContains(response, 'data-testid="staff-hint"', status_code=403)


@pytest.mark.parametrize("page", ["list", "detail", "offer", "apply"])
def test_staff_on_a_customer_page_are_sent_to_the_back_office(client, customer, reviewer, dealer, page):
    application = in_review(customer, dealer)
    url = {
        "list": reverse("applications:list"),
        "detail": detail_url(application),
        "offer": reverse("applications:offer", args=[application.reference]),
        "apply": reverse("applications:apply_start"),
    }[page]
    client.force_login(reviewer)

    response = client.get(url)

    assert response.status_code == 403
    assertContains(response, 'data-testid="staff-hint"', status_code=403)
    assertContains(response, "此页面供客户使用", status_code=403)
    assertContains(response, f'href="{reverse("admin:index")}"', status_code=403)
    assert application.display_reference not in text_of(response)


@pytest.mark.urls(__name__)
def test_a_server_error_is_a_plain_page_in_the_sites_look(client):
    client.raise_request_exception = False  # as a real server does: the handler answers

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/broken/")

    assert response.status_code == 500
    content = response.content.decode()
    assert '<html lang="zh-hans">' in content
    assert "我们这边出了点问题" in content
    assert 'href="/"' in content  # the way back
    assert "/static/css/site.css" in content and "/static/vendor/bootstrap/css/bootstrap.min.css" in content
    assert "a bug on our side" not in content  # nothing of what went wrong
    # Nothing of the page reads the database: a failing database must not break the error page too.
    assert len(queries) == 0


@pytest.mark.urls(__name__)
def test_a_server_error_in_english(client):
    client.raise_request_exception = False
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/broken/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_bad_request_is_400_in_the_frame_with_the_way_back(client):
    response = client.get("/suspicious/")

    assert response.status_code == 400
    assertContains(response, "我们无法处理此请求", status_code=400)
    assertContains(response, "返回首页", status_code=400)
    assertNotContains(response, "a tampered request", status_code=400)


def test_staff_who_are_customers_too_keep_their_own_pages(client, make_user, dealer):
    staff_buyer = make_user("staff_buyer", Role.CUSTOMER, Role.REVIEWER)
    application = in_review(staff_buyer, dealer)
    client.force_login(staff_buyer)

    assert client.get(reverse("applications:list")).status_code == 200
    assert client.get(detail_url(application)).status_code == 200
    home = client.get(HOME)
    assert [card.card.application for card in home.context["home_cards"]] == [application]


def test_staff_refused_a_staff_page_are_not_told_it_is_for_customers(client, reviewer):
    client.force_login(reviewer)  # a reviewer is no manager

    response = client.get(reverse("reports:sla"))

    assertContains(response, "您无权访问此页面", status_code=403)
    assertNotContains(response, 'data-testid="staff-hint"', status_code=403)
    assertContains(response, f'href="{reverse("admin:index")}"', status_code=403)  # their way back
