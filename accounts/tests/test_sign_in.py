"""Signing in with a mobile number, an email or a user name; signing out by POST; the navbar."""

from __future__ import annotations

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertFormError, assertNotContains, assertRedirects

from .builders import PASSWORD, sign_in, signed_in_user

SIGN_IN = reverse("accounts:login")
SIGN_OUT = reverse("accounts:logout")
HOME = reverse("applications:home")
WRONG = "The mobile number, email or user name and password do not match an account. Please check both and try again."
pytestmark = pytest.mark.django_db


def test_the_sign_in_page_costs_no_query(client, django_assert_num_queries):
    # An anonymous visitor without a session: no session, user or form query at all.
    with django_assert_num_queries(0):
        assert client.get(SIGN_IN).status_code == 200


def test_the_sign_in_page_offers_sign_up_and_password_reset(client):
    response = client.get(SIGN_IN, {"next": "/inbox/"})

    assertContains(response, "Mobile number, email or user name")
    assertContains(response, f'href="{reverse("accounts:password_reset")}"')
    assertContains(response, f'href="{reverse("accounts:signup")}?next=/inbox/"')
    assertContains(response, 'name="next" value="/inbox/"')


@pytest.mark.parametrize("spelling", ["13812345678", "138 1234 5678", "+86 138-1234-5678"])
def test_a_customer_signs_in_with_the_mobile_number(client, phone_customer, spelling):
    response = sign_in(client, spelling)

    assertRedirects(response, HOME)
    assert signed_in_user(client) == phone_customer


def test_a_customer_signs_in_with_the_email_in_any_case(client, email_customer):
    response = sign_in(client, "LI.NA@example.cn")

    assertRedirects(response, HOME)
    assert signed_in_user(client) == email_customer


def test_staff_sign_in_with_the_user_name(client, reviewer):
    response = sign_in(client, "reviewer", "a-Long-passphrase-42")

    assertRedirects(response, HOME)
    assert signed_in_user(client) == reviewer


def test_sign_in_goes_back_to_the_page_that_asked(client, phone_customer):
    response = sign_in(client, "13812345678", next="/inbox/")
    assertRedirects(response, "/inbox/", fetch_redirect_response=False)


def test_sign_in_ignores_a_next_page_on_another_site(client, phone_customer):
    response = sign_in(client, "13812345678", next="https://evil.example/")
    assertRedirects(response, HOME)


@pytest.mark.parametrize(
    ("identifier", "password"),
    [
        ("13812345678", "wrong-Password-1"),  # right account, wrong password
        ("13912345678", PASSWORD),  # no such account
        ("nobody@example.cn", PASSWORD),
        ("nobody", PASSWORD),
    ],
)
def test_a_wrong_sign_in_gets_one_message_that_does_not_say_which_part_was_wrong(
    client, phone_customer, identifier, password
):
    response = sign_in(client, identifier, password)

    assert response.status_code == 200
    assertFormError(response.context["form"], None, WRONG)
    assert not signed_in_user(client).is_authenticated


def test_a_deactivated_account_cannot_sign_in(client, phone_customer):
    phone_customer.is_active = False
    phone_customer.save()

    response = sign_in(client, "13812345678")

    assertFormError(response.context["form"], None, WRONG)


def test_signing_out_takes_a_post(client, phone_customer):
    client.force_login(phone_customer)

    assert client.get(SIGN_OUT).status_code == 405  # a link elsewhere cannot sign anyone out
    assert signed_in_user(client).is_authenticated

    response = client.post(SIGN_OUT)

    assertRedirects(response, HOME, fetch_redirect_response=False)
    home = client.get(HOME)
    assert not home.wsgi_request.user.is_authenticated
    assertContains(home, "You have signed out.")


def test_the_navbar_offers_sign_in_and_sign_up_to_visitors(client):
    response = client.get(HOME)

    assertContains(response, f'href="{SIGN_IN}"')
    assertContains(response, f'href="{reverse("accounts:signup")}"')
    assertNotContains(response, f'action="{SIGN_OUT}"')


def test_the_navbar_shows_a_phone_customer_by_the_masked_number(client, phone_customer):
    client.force_login(phone_customer)
    response = client.get(HOME)

    assertContains(response, "138****5678")
    assertNotContains(response, "13812345678")
    assertNotContains(response, phone_customer.username)  # generated, means nothing to the customer
    assertContains(response, f'<form action="{SIGN_OUT}" method="post">')
    assertNotContains(response, f'href="{SIGN_IN}"')


def test_the_navbar_shows_a_named_user_by_name(client, customer):
    customer.first_name, customer.last_name = "Na", "Li"
    customer.save()
    client.force_login(customer)

    assertContains(client.get(HOME), "Na Li")


def test_a_signed_in_user_is_sent_on_from_the_sign_in_page(client, phone_customer):
    client.force_login(phone_customer)
    assertRedirects(client.get(SIGN_IN), HOME)
