"""The accounts' test helpers: the password and phone the tests sign up with, and the sign-up and
sign-in forms as a visitor posts them."""

from __future__ import annotations

from django.urls import reverse

PASSWORD = "Plum-blossom-1988"  # passes Django's validators
PHONE = "13812345678"


def sign_up(client, identifier, password=PASSWORD, confirmation=None, next=None, **headers):
    """Post the sign-up form: one box for a mobile number or email, the password twice."""
    data = {"identifier": identifier, "password1": password, "password2": confirmation or password}
    if next is not None:
        data["next"] = next
    return client.post(reverse("accounts:signup"), data, **headers)


def sign_in(client, identifier, password=PASSWORD, **data):
    """Post the sign-in form with a mobile number, email or user name."""
    return client.post(reverse("accounts:login"), {"username": identifier, "password": password, **data})


def signed_in_user(client):
    """Who the site thinks the client is now (an anonymous user when nobody is signed in)."""
    return client.get(reverse("applications:home")).wsgi_request.user
