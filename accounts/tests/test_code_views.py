"""The pages that work with a code by text message: sign in, reset the password, change the email
address or the number; and the change-password page. Each answers the same whether or not the
number has an account."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from pytest_django.asserts import assertContains, assertFormError, assertRedirects

from .builders import PASSWORD, PHONE, last_code, sign_in, signed_in_user, texts_to

User = get_user_model()
pytestmark = pytest.mark.django_db
HOME = reverse("applications:home")
WRONG = "The code is wrong or has expired. Check it, or ask for a new one."
NEW_PASSWORD = "Osmanthus-rain-2031"
OTHER = "13987654321"


def off_by_one(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- Sign in with a code ------------------------------------------------------------------------


def test_a_customer_signs_in_with_the_code_texted_to_their_number(client, phone_customer):
    asked = client.post(reverse("accounts:signin_code"), {"phone": "138 1234 5678"})
    assertRedirects(asked, reverse("accounts:signin_code_verify"), fetch_redirect_response=False)
    page = client.get(reverse("accounts:signin_code_verify"))
    assertContains(page, "If an account uses 138****5678, we have texted it a 6-digit code.")
    assert PHONE not in page.content.decode()

    wrong = client.post(reverse("accounts:signin_code_verify"), {"code": off_by_one(last_code(PHONE))})
    assertFormError(wrong.context["form"], "code", WRONG)
    response = client.post(reverse("accounts:signin_code_verify"), {"code": last_code(PHONE)})
    assertRedirects(response, HOME, fetch_redirect_response=False)
    assert signed_in_user(client) == phone_customer


def test_a_number_without_an_account_gets_the_same_page_and_no_text(client, phone_customer):
    asked = client.post(reverse("accounts:signin_code"), {"phone": OTHER})
    assertRedirects(asked, reverse("accounts:signin_code_verify"), fetch_redirect_response=False)
    assertContains(client.get(reverse("accounts:signin_code_verify")), "If an account uses 139****4321")
    assert texts_to(OTHER) == []
    assertFormError(
        client.post(reverse("accounts:signin_code_verify"), {"code": "123456"}).context["form"], "code", WRONG
    )
    assert not signed_in_user(client).is_authenticated


def test_asking_again_within_the_minute_says_how_long_to_wait(client, phone_customer):
    client.post(reverse("accounts:signin_code"), {"phone": PHONE})
    again = client.post(reverse("accounts:signin_code_verify"), {"resend": "1"}, follow=True)
    assertContains(again, "Please wait 60 seconds before asking for another code.")
    assert len(texts_to(PHONE)) == 1


# --- Reset a forgotten password with a code -----------------------------------------------------


def test_a_forgotten_password_is_reset_with_a_code(client, phone_customer):
    client.post(reverse("accounts:reset_code"), {"phone": PHONE})
    code = last_code(PHONE)
    weak = client.post(
        reverse("accounts:reset_code_verify"), {"code": code, "password1": "123", "password2": "123"}
    )
    assert "password1" in weak.context["form"].errors
    phone_customer.refresh_from_db()
    assert phone_customer.check_password(PASSWORD)

    response = client.post(
        reverse("accounts:reset_code_verify"),
        {"code": code, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assertRedirects(response, reverse("accounts:login"), fetch_redirect_response=False)
    phone_customer.refresh_from_db()
    assert phone_customer.check_password(NEW_PASSWORD)
    sign_in(client, PHONE, NEW_PASSWORD)
    assert signed_in_user(client) == phone_customer


def test_a_reset_code_works_once(client, phone_customer):
    client.post(reverse("accounts:reset_code"), {"phone": PHONE})
    data = {"code": last_code(PHONE), "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    client.post(reverse("accounts:reset_code_verify"), data)
    client.post(reverse("accounts:reset_code"), {"phone": PHONE})  # a new flow, within the minute: refused
    again = client.post(reverse("accounts:reset_code_verify"), {**data, "password1": "x" + NEW_PASSWORD})
    assert again.status_code in (200, 302)
    phone_customer.refresh_from_db()
    assert phone_customer.check_password(NEW_PASSWORD)


def test_a_reset_for_a_number_without_an_account_looks_the_same(client):
    asked = client.post(reverse("accounts:reset_code"), {"phone": OTHER})
    assertRedirects(asked, reverse("accounts:reset_code_verify"), fetch_redirect_response=False)
    assert texts_to(OTHER) == []


# --- Signed in: password, email, number ---------------------------------------------------------


def test_the_change_password_page_is_for_signed_in_people(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_customer_changes_their_password_and_stays_signed_in(
    client, phone_customer, django_assert_num_queries
):
    client.force_login(phone_customer)
    client.get(HOME)
    # the session is read from the cache; the user row; the frame's unread count
    with django_assert_num_queries(2):
        page = client.get(reverse("accounts:password_change"))
    assertContains(page, "138****5678")
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assertContains(wrong, "您的旧密码不正确，请重新输入。")
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assertContains(response, "Your password has been changed.")
    assert signed_in_user(client) == phone_customer
    phone_customer.refresh_from_db()
    assert phone_customer.check_password(NEW_PASSWORD)


def test_an_email_address_is_added_with_a_code_to_the_number(client, phone_customer):
    client.force_login(phone_customer)
    client.post(reverse("accounts:email_change"), {"email": "ＷＡＮＧ＠example.cn"})
    code = last_code(PHONE)
    assertFormError(
        client.post(reverse("accounts:email_change_verify"), {"code": off_by_one(code)}).context["form"],
        "code",
        WRONG,
    )
    phone_customer.refresh_from_db()
    assert phone_customer.email == ""
    client.post(reverse("accounts:email_change_verify"), {"code": code})
    phone_customer.refresh_from_db()
    assert phone_customer.email == "WANG@example.cn"


def test_changing_the_number_needs_the_codes_to_both_numbers(client, phone_customer):
    client.force_login(phone_customer)
    client.post(reverse("accounts:phone_change"), {"phone": OTHER})
    new_code, old_code = last_code(OTHER), last_code(PHONE)
    assert new_code and old_code
    only_new = client.post(
        reverse("accounts:phone_change_verify"), {"code_new": new_code, "code_old": off_by_one(old_code)}
    )
    assertFormError(only_new.context["form"], "code_old", WRONG)
    phone_customer.refresh_from_db()
    assert phone_customer.phone == PHONE

    client.post(reverse("accounts:phone_change"), {"phone": OTHER})  # within the minute: wait
    assert last_code(OTHER) == new_code


def test_a_customer_moves_to_a_new_number(client, phone_customer):
    client.force_login(phone_customer)
    client.post(reverse("accounts:phone_change"), {"phone": OTHER})
    response = client.post(
        reverse("accounts:phone_change_verify"), {"code_new": last_code(OTHER), "code_old": last_code(PHONE)}
    )
    assertRedirects(response, reverse("accounts:password_change"), fetch_redirect_response=False)
    phone_customer.refresh_from_db()
    assert phone_customer.phone == OTHER
    assert User.objects.filter(phone_hash=phone_customer.phone_hash).count() == 1
