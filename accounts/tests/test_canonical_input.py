"""A mobile number or email address typed in full-width, Arabic-Indic or mixed digits is the same
identifier as its ASCII spelling: sign-up refuses it when taken, sign-in and password reset find the
account, throttling counts it under the same key; the data migration rewrites what is stored."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import mail
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from pytest_django.asserts import assertFormError, assertRedirects

from accounts.forms import TAKEN_MESSAGES
from accounts.roles import Role
from accounts.services import IdentifierTaken, user_sign_up
from accounts.throttling import sign_in_key
from common.pii import keyed_hash

from .builders import PASSWORD, PHONE, sign_in, sign_up, texts_to

User = get_user_model()
HOME = reverse("applications:home")
pytestmark = pytest.mark.django_db

# PHONE (13812345678) in other digits: full-width (U+FF10–FF19), Arabic-Indic (U+0660–0669),
# Extended Arabic-Indic (U+06F0–06F9), and a mix of all of them with ASCII and separators.
SPELLINGS = pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("１３８１２３４５６７８", id="full-width"),
        pytest.param("١٣٨١٢٣٤٥٦٧٨", id="arabic-indic"),
        pytest.param("۱۳۸۱۲۳۴۵۶۷۸", id="extended-arabic-indic"),
        pytest.param("＋８６ 13８-١٢٣٤-۵۶۷8", id="mixed"),
    ],
)
EMAIL_SPELLINGS = pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("ｌｉ．ｎａ＠ｅｘａｍｐｌｅ．ｃｎ", id="full-width"),
        pytest.param("LI.NA＠Example.CN", id="mixed"),
    ],
)


# --- Sign-up ------------------------------------------------------------------------------------


@SPELLINGS
def test_sign_up_refuses_a_second_account_for_a_number_typed_in_other_digits(
    client, phone_customer, spelling
):
    sign_up(client, spelling)

    # The owner of the number is told (the page says nothing of it); no code, no second account.
    assert [sent.message.template for sent in texts_to(PHONE)] == ["signup_taken"]
    assert list(User.objects.all()) == [phone_customer]


@SPELLINGS
def test_the_sign_up_service_refuses_it_too(phone_customer, spelling):
    with pytest.raises(IdentifierTaken):
        user_sign_up(phone_or_email=spelling, password=PASSWORD)


@SPELLINGS
def test_a_number_typed_in_other_digits_is_stored_and_hashed_in_ascii(client, spelling):
    assertRedirects(sign_up(client, spelling), HOME, fetch_redirect_response=False)

    user = User.objects.get()
    assert (user.phone, user.phone_hash) == (PHONE, keyed_hash(PHONE))


@EMAIL_SPELLINGS
def test_sign_up_refuses_a_second_account_for_an_email_typed_full_width(client, email_customer, spelling):
    response = sign_up(client, spelling)

    assertFormError(response.context["form"], "identifier", [str(TAKEN_MESSAGES["email"])])
    assert list(User.objects.all()) == [email_customer]


def test_an_email_typed_full_width_is_stored_in_ascii(client):
    sign_up(client, "Ｗａｎｇ．Ｆａｎｇ１９９０＠Ｅｘａｍｐｌｅ．ＣＮ")

    assert User.objects.get().email == "Wang.Fang1990@example.cn"


# --- Sign-in, the authentication back-end, throttling and password reset ------------------------


@SPELLINGS
def test_a_customer_signs_in_with_the_number_in_other_digits(client, phone_customer, spelling):
    assertRedirects(sign_in(client, spelling), HOME)
    assert client.get(HOME).wsgi_request.user == phone_customer


@EMAIL_SPELLINGS
def test_a_customer_signs_in_with_the_email_typed_full_width(client, email_customer, spelling):
    assertRedirects(sign_in(client, spelling), HOME)
    assert client.get(HOME).wsgi_request.user == email_customer


@SPELLINGS
def test_the_back_end_finds_the_account_by_the_number_in_other_digits(rf, phone_customer, spelling):
    # The admin's sign-in reaches the back-end with what was typed, not through sign_in_key.
    assert authenticate(rf.post("/"), username=spelling, password=PASSWORD) == phone_customer


@SPELLINGS
def test_every_spelling_counts_against_the_same_throttling_key(phone_customer, spelling):
    assert sign_in_key(spelling) == phone_customer.username


@SPELLINGS
def test_an_unknown_number_in_other_digits_shares_the_ascii_spelling_s_key(spelling):
    assert sign_in_key(spelling) == sign_in_key(PHONE)
    assert sign_in_key(spelling).startswith("?")


def test_a_user_name_keeps_django_s_own_rule(make_user):
    # User names are not identifiers we canonicalise: Django stores them NFKC only.
    staff = make_user("阿里٣", Role.REVIEWER)
    assert sign_in_key("阿里٣") == staff.username == "阿里٣"


@EMAIL_SPELLINGS
def test_password_reset_finds_the_account_by_the_email_typed_full_width(client, email_customer, spelling):
    response = client.post(reverse("accounts:password_reset"), {"email": spelling})

    assertRedirects(response, reverse("accounts:password_reset_done"))
    (message,) = mail.outbox
    assert message.to == ["Li.Na@example.cn"]  # the address on file, as the customer wrote it


# --- The data migration -------------------------------------------------------------------------

migration = importlib.import_module("accounts.migrations.0005_canonical_identifiers")


def stored_as_typed(username: str, *, phone: str = "", email: str = "") -> User:
    """An account as the earlier code saved it: the number and its hash exactly as typed."""
    user = User(username=username, email=email)
    if phone:
        user.phone, user.phone_hash = phone, keyed_hash(phone)
    user.save()
    return user


def test_the_migration_rewrites_numbers_and_addresses_in_their_canonical_spelling():
    typed = stored_as_typed("typed", phone="１３８ ١٢٣٤ 5678", email="ｗａｎｇ１＠Ｅｘａｍｐｌｅ．ＣＮ")
    canonical = stored_as_typed("canonical", phone="13900001111", email="Li.Na@example.cn")

    assert migration.canonicalise_users(User) == []

    typed.refresh_from_db()
    assert (typed.phone, typed.phone_hash, typed.email) == (PHONE, keyed_hash(PHONE), "wang1@example.cn")
    assert sign_in_key(PHONE) == "typed"
    canonical.refresh_from_db()
    assert (canonical.phone, canonical.email) == ("13900001111", "Li.Na@example.cn")


def test_the_migration_leaves_a_colliding_account_as_it_is_and_reports_it(phone_customer, caplog):
    duplicate = stored_as_typed("duplicate", phone="１３８１２３４５６７８")
    user_sign_up(phone_or_email="li.na@example.cn", password=PASSWORD)
    second = stored_as_typed("second", email="ｌｉ．ｎａ＠example.cn")

    with caplog.at_level(logging.WARNING, logger="loanportal.migrations"):
        collisions = migration.canonicalise_users(User)

    assert collisions == [
        f"user {duplicate.pk}: its mobile number is user {phone_customer.pk}'s; left as it is",
        f"user {second.pk}: its email address is user {User.objects.get(email='li.na@example.cn').pk}'s; "
        "left as it is",
    ]
    assert all(collision in caplog.text for collision in collisions)
    duplicate.refresh_from_db()
    second.refresh_from_db()
    assert (duplicate.phone, second.email) == (
        "１３８１２３４５６７８",
        "ｌｉ．ｎａ＠example.cn",
    )  # not merged
    assert User.objects.count() == 4


def test_the_migration_runs_on_the_historical_model():
    stored_as_typed("typed", phone="١٣٨١٢٣٤٥٦٧٨")
    before = MigrationLoader(connection).project_state(("accounts", "0004_announce_changes"))

    migration.canonicalise(before.apps, None)

    assert User.objects.get().phone == PHONE
