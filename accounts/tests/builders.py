"""The accounts' test helpers: the password and phone the tests sign up with, and the sign-up and
sign-in forms as a visitor posts them."""

from __future__ import annotations

from django.urls import reverse

from common import sms
from common.identifiers import canonical_phone

PASSWORD = "Plum-blossom-1988"  # passes Django's validators
PHONE = "13812345678"


def texts_to(phone: str) -> list[sms.SentSms]:
    """The text messages the tests' SMS backend has sent to this number, oldest first."""
    return [sent for sent in sms.outbox if sent.phone == canonical_phone(phone)]


def last_code(phone: str) -> str | None:
    """The code in the newest one-time-code message to this number, read as the customer reads it."""
    codes = [sent.message.params["code"] for sent in texts_to(phone) if sent.message.template == "code"]
    return codes[-1] if codes else None


def sign_up_form(client, identifier, password=PASSWORD, confirmation=None, next=None, **headers):
    """Post the sign-up form: one box for a mobile number or email, the password twice."""
    data = {"identifier": identifier, "password1": password, "password2": confirmation or password}
    if next is not None:
        data["next"] = next
    return client.post(reverse("accounts:signup"), data, **headers)


def sign_up(client, identifier, password=PASSWORD, confirmation=None, next=None, **headers):
    """Sign up as a customer does: the form, then, for a number, the code texted to it. Returns
    the last answer (the code page's when no code came, as for a number that has an account)."""
    response = sign_up_form(client, identifier, password, confirmation, next, **headers)
    verify = reverse("accounts:signup_verify")
    if response.status_code == 302 and response["Location"] == verify and last_code(identifier):
        return client.post(verify, {"code": last_code(identifier)}, **headers)
    return response


def sign_in(client, identifier, password=PASSWORD, **data):
    """Post the sign-in form with a mobile number, email or user name."""
    return client.post(reverse("accounts:login"), {"username": identifier, "password": password, **data})


def signed_in_user(client):
    """Who the site thinks the client is now (an anonymous user when nobody is signed in)."""
    return client.get(reverse("applications:home")).wsgi_request.user
