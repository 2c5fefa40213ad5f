"""Password reset by email, end to end, with Django's views and our templates."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from .builders import PASSWORD

RESET = reverse("accounts:password_reset")
NEW_PASSWORD = "Jade-rabbit-2031"
pytestmark = pytest.mark.django_db


def reset_link(message) -> str:
    match = re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_customer_resets_the_password_by_email_and_signs_in_with_the_new_one(client, email_customer):
    assertContains(client.get(RESET), 'name="email"')

    response = client.post(RESET, {"email": "li.na@EXAMPLE.cn"})

    assertRedirects(response, reverse("accounts:password_reset_done"))
    assertContains(client.get(response.url), "Check your email")
    (message,) = mail.outbox
    assert message.to == ["Li.Na@example.cn"]
    assert message.subject == "Reset your Loan Portal password"
    assert "Someone asked to reset the password of your Loan Portal account" in message.body
    assert "&amp;" not in message.body and "&#x27;" not in message.body  # plain text, not HTML-escaped

    # Django swaps the token in the link for one kept in the session, then shows the form.
    form_page = client.get(reset_link(message), follow=True)
    assertContains(form_page, 'name="new_password1"')
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assertRedirects(response, reverse("accounts:password_reset_complete"))
    email_customer.refresh_from_db()
    assert email_customer.check_password(NEW_PASSWORD)
    assert not email_customer.check_password(PASSWORD)
    sign_in = client.post(
        reverse("accounts:login"), {"username": "li.na@example.cn", "password": NEW_PASSWORD}
    )
    assertRedirects(sign_in, reverse("applications:home"))


def test_the_reset_link_works_once(client, email_customer):
    client.post(RESET, {"email": "li.na@example.cn"})
    link = reset_link(mail.outbox[0])
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    assertContains(response, "This link cannot be used any more")
    assertContains(response, f'href="{RESET}"')


def test_a_weak_new_password_is_refused_next_to_the_field(client, email_customer):
    client.post(RESET, {"email": "li.na@example.cn"})
    form_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]

    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})

    assert "This password is entirely numeric." in response.context["form"].errors["new_password2"]
    email_customer.refresh_from_db()
    assert email_customer.check_password(PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, phone_customer):
    response = client.post(RESET, {"email": "nobody@example.cn"})

    assertRedirects(response, reverse("accounts:password_reset_done"))
    assert mail.outbox == []


def test_the_reset_page_leads_phone_accounts_to_a_reset_by_code(client):
    assertContains(client.get(RESET), reverse("accounts:reset_code"))
