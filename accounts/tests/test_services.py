"""user_sign_up: one customer account per mobile number or email, nothing written on refusal."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from accounts.roles import Role
from accounts.services import IdentifierTaken, identifier_parse, user_sign_up
from common.pii import keyed_hash

from .builders import PASSWORD, PHONE

User = get_user_model()
pytestmark = pytest.mark.django_db


def test_sign_up_with_a_phone_stores_it_encrypted_and_joins_the_customer_group():
    user = user_sign_up(phone_or_email="+86 138-1234-5678", password=PASSWORD, language="en")

    user.refresh_from_db()
    assert user.phone == PHONE  # normalised
    assert user.phone_hash == keyed_hash(PHONE)
    assert user.email == ""
    assert user.language == "en"
    assert list(user.groups.values_list("name", flat=True)) == [Role.CUSTOMER]
    assert user.check_password(PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user.pk])
        (stored,) = cursor.fetchone()
    assert PHONE not in stored


def test_the_generated_user_name_reveals_neither_the_phone_nor_the_email():
    by_phone = user_sign_up(phone_or_email=PHONE, password=PASSWORD)
    by_email = user_sign_up(phone_or_email="wang.fang@example.cn", password=PASSWORD)

    assert by_phone.username.startswith("u") and "5678" not in by_phone.username
    assert "wang" not in by_email.username
    assert by_phone.username != by_email.username


def test_sign_up_with_an_email_keeps_it_with_a_lower_case_domain():
    user = user_sign_up(phone_or_email=" Wang.Fang@Example.CN ", password=PASSWORD)

    assert user.email == "Wang.Fang@example.cn"
    assert user.phone == "" and user.phone_hash is None


def test_the_language_defaults_to_the_active_one():
    with translation.override("en"):
        assert user_sign_up(phone_or_email=PHONE, password=PASSWORD).language == "en"
    with translation.override("fr"):  # not offered: the site's default
        assert user_sign_up(phone_or_email="13912345678", password=PASSWORD).language == "zh-hans"


@pytest.mark.parametrize("spelling", ["13812345678", "138 1234 5678", "+8613812345678"])
def test_a_phone_already_registered_is_refused_however_it_is_written(phone_customer, spelling):
    with pytest.raises(IdentifierTaken) as refused:
        user_sign_up(phone_or_email=spelling, password=PASSWORD)

    assert refused.value.kind == "phone"
    assert User.objects.count() == 1


def test_an_email_already_registered_is_refused_whatever_its_case(email_customer):
    with pytest.raises(IdentifierTaken) as refused:
        user_sign_up(phone_or_email="LI.NA@example.cn", password=PASSWORD)

    assert refused.value.kind == "email"
    assert User.objects.count() == 1


def test_a_weak_password_is_refused_and_nothing_is_saved():
    with pytest.raises(ValidationError) as refused:
        user_sign_up(phone_or_email=PHONE, password="12345678")

    assert {error.code for error in refused.value.error_list} >= {"password_entirely_numeric"}
    assert not User.objects.exists()


def test_a_password_like_the_email_is_refused():
    with pytest.raises(ValidationError):
        user_sign_up(phone_or_email="zhangwei1990@example.cn", password="zhangwei1990")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("raw", "code"),
    [("1381234", "phone"), ("23812345678", "phone"), ("li.na@", "invalid"), ("li.na", "identifier")],
)
def test_a_malformed_identifier_is_refused(raw, code):
    with pytest.raises(ValidationError) as refused:
        identifier_parse(raw)
    assert refused.value.code == code


def test_a_phone_registered_by_a_simultaneous_sign_up_is_refused_by_the_unique_index(
    phone_customer, monkeypatch
):
    # The other sign-up committed between our check and our insert: phone_hash's unique index decides.
    monkeypatch.setattr("accounts.services.identifier_taken", lambda identifier: False)

    with pytest.raises(IdentifierTaken):
        user_sign_up(phone_or_email=PHONE, password=PASSWORD)

    assert User.objects.count() == 1
