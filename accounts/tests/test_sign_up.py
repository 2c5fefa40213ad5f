"""The sign-up page: one box for a mobile number or email, two for the password."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext
from pytest_django.asserts import assertContains, assertFormError, assertNotContains, assertRedirects

from .builders import PASSWORD, PHONE, last_code, sign_up, sign_up_form, signed_in_user, texts_to

User = get_user_model()
SIGN_UP = reverse("accounts:signup")
HOME = reverse("applications:home")
pytestmark = pytest.mark.django_db


def test_the_sign_up_page_costs_no_query(client, django_assert_num_queries):
    # An anonymous visitor without a session: no session, user or form query at all.
    with django_assert_num_queries(0):
        response = client.get(SIGN_UP)
    assertContains(response, 'name="identifier"')
    assertContains(response, 'autocomplete="new-password"', count=2)


def test_signing_up_with_a_phone_signs_the_customer_in(client):
    response = sign_up(client, "138 1234 5678")

    assertRedirects(response, HOME, fetch_redirect_response=False)
    user = User.objects.get()
    assert user.phone == PHONE
    home = client.get(HOME)
    assert home.wsgi_request.user == user
    assertContains(home, "Welcome! Your account is ready.")


def test_signing_up_with_an_email_signs_the_customer_in(client):
    response = sign_up(client, "li.na@example.cn")

    assertRedirects(response, HOME)
    assert signed_in_user(client).email == "li.na@example.cn"


def test_the_account_keeps_the_language_the_page_was_shown_in(client):
    sign_up(client, PHONE, HTTP_ACCEPT_LANGUAGE="zh-CN")
    client.post(reverse("accounts:logout"))
    sign_up(client, "13912345678")  # the fixture's browser prefers English

    languages = {user.phone: user.language for user in User.objects.all()}
    assert languages == {PHONE: "zh-hans", "13912345678": "en"}


def test_after_signing_up_the_customer_goes_back_to_the_page_that_asked(client):
    response = sign_up(client, PHONE, next="/inbox/")
    assertRedirects(response, "/inbox/", fetch_redirect_response=False)


def test_a_next_page_on_another_site_is_ignored(client):
    response = sign_up(client, PHONE, next="https://evil.example/steal")
    assertRedirects(response, HOME)


def test_an_invalid_phone_is_explained_next_to_the_field_and_nothing_is_created(client):
    response = sign_up(client, "1381234567")

    assert response.status_code == 200
    assertFormError(
        response.context["form"],
        "identifier",
        "Enter a mainland China mobile number: 11 digits starting with 1.",
    )
    assertContains(response, 'aria-invalid="true"')
    assertContains(response, 'value="1381234567"')  # what was typed stays, to be corrected
    assert not User.objects.exists()


def test_letters_without_an_at_sign_ask_for_a_phone_or_an_email(client):
    response = sign_up(client, "li.na")
    assertFormError(
        response.context["form"],
        "identifier",
        "Enter a mobile number (11 digits starting with 1) or an email address.",
    )


def test_an_invalid_email_is_explained(client):
    response = sign_up(client, "li.na@example")
    assertFormError(response.context["form"], "identifier", "Enter a valid email address.")
    assert not User.objects.exists()


def test_a_weak_password_is_explained_next_to_the_password_and_nothing_is_created(client):
    response = sign_up(client, PHONE, password="12345678")

    form = response.context["form"]
    assert "This password is too common." in form.errors["password1"]
    assert "This password is entirely numeric." in form.errors["password1"]
    assertContains(response, "This password is entirely numeric.")
    assert not User.objects.exists()


def test_a_password_too_like_the_email_is_refused(client):
    response = sign_up(client, "zhangwei1990@example.cn", password="zhangwei1990")

    assert "The password is too similar to the email address." in response.context["form"].errors["password1"]
    assert not User.objects.exists()


def test_a_mismatched_confirmation_is_explained_and_nothing_is_created(client):
    response = sign_up(client, PHONE, confirmation=PASSWORD + "!")

    assertFormError(response.context["form"], "password2", "The two password fields didn’t match.")
    assert not User.objects.exists()


def test_a_registered_phone_gets_the_same_answer_and_its_owner_a_note(client, phone_customer):
    fresh = sign_up_form(client, "13912345678", password="Another-passphrase-7")
    taken = sign_up_form(client, "+86 138 1234 5678", password="Another-passphrase-7")

    # The same next page for both: nothing says which number has an account.
    assertRedirects(taken, reverse("accounts:signup_verify"), fetch_redirect_response=False)
    assert taken["Location"] == fresh["Location"]
    page = client.get(reverse("accounts:signup_verify"))
    assertContains(page, "We have sent a text message to 138****5678. Enter the 6-digit code in it.")
    # The owner is told, and gets no code to open a second account with.
    assert [sent.message.template for sent in texts_to(PHONE)] == ["signup_taken"]
    assert (
        "Someone tried to open a Loan Portal account with your mobile number"
        in texts_to(PHONE)[0].message.text
    )
    response = client.post(reverse("accounts:signup_verify"), {"code": "123456"})
    assertFormError(
        response.context["form"], "code", "The code is wrong or has expired. Check it, or ask for a new one."
    )
    assert User.objects.count() == 1
    phone_customer.refresh_from_db()
    assert phone_customer.check_password(PASSWORD)  # untouched
    assert not signed_in_user(client).is_authenticated


def test_a_number_is_confirmed_by_its_code_before_the_account_opens(client):
    sign_up_form(client, PHONE)
    assert not User.objects.exists()
    wrong = client.post(
        reverse("accounts:signup_verify"), {"code": f"{(int(last_code(PHONE)) + 1) % 10**6:06d}"}
    )
    assertFormError(
        wrong.context["form"], "code", "The code is wrong or has expired. Check it, or ask for a new one."
    )
    assert not User.objects.exists()

    response = client.post(reverse("accounts:signup_verify"), {"code": last_code(PHONE)})
    assertRedirects(response, HOME, fetch_redirect_response=False)
    assert User.objects.get().check_password(PASSWORD)  # the password chosen on the form


def test_sign_up_forms_from_one_address_are_limited(client):
    for number in range(10):
        sign_up_form(client, f"1390000000{number}")
    response = sign_up_form(client, "13700000000")
    assert response.status_code == 429
    assertContains(response, "Too many sign-ups from your network", status_code=429)


def test_a_registered_email_is_refused_whatever_its_case(client, email_customer):
    response = sign_up(client, "li.na@EXAMPLE.cn")

    assertFormError(
        response.context["form"],
        "identifier",
        "An account with this email address already exists — sign in or reset your password.",
    )
    assert User.objects.count() == 1


def test_a_signed_in_customer_is_sent_on_from_the_sign_up_page(client, customer):
    client.force_login(customer)
    assertRedirects(client.get(SIGN_UP), HOME)


def test_the_password_rules_say_nin_not_ni_in_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get(SIGN_UP)

    # Django's own catalogue says 你 in its validators' help texts; ours overrides them.
    assertContains(response, "您的密码不能全是数字。")
    assertContains(response, "您的密码不能是常见密码。")
    assertContains(response, "您的密码不能与您的其他个人信息过于相似。")
    assertNotContains(response, "你")
    with translation.override("zh-hans"):
        assert "您" in ngettext(
            "Your password must contain at least %(min_length)d character.",
            "Your password must contain at least %(min_length)d characters.",
            8,
        )
        assert gettext("Your old password was entered incorrectly. Please enter it again.").startswith("您")
