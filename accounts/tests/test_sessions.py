"""``accounts.sessions.signed_in_session``: the sign-in check of a stored session, as Django's."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from accounts import sessions

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _stored(user, *, backend: str = MODEL_BACKEND, **extra) -> str:
    """A session signing ``user`` in, as the session table stores it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: backend,
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        **extra,
    }
    return store.encode(data)


def signed_in_session(session_data: str, user):
    return sessions.signed_in_session(
        session_data, user_id=user.pk, password=user.password, is_active=user.is_active
    )


def test_a_session_signs_in_its_user(customer):
    data = signed_in_session(_stored(customer, _messages="[]"), customer)
    assert data is not None and data[SESSION_KEY] == str(customer.pk) and data["_messages"] == "[]"


def test_both_of_our_sign_in_backends_count(customer):
    assert signed_in_session(_stored(customer, backend="accounts.backends.PhoneOrEmailBackend"), customer)


def test_another_user_s_session_does_not(customer, other_customer):
    assert signed_in_session(_stored(other_customer), customer) is None


def test_a_changed_password_ends_it(customer):
    stored = _stored(customer)
    customer.set_password("a-New-passphrase-43")
    assert signed_in_session(stored, customer) is None


def test_an_inactive_account_is_not_signed_in(customer):
    stored = _stored(customer)
    customer.is_active = False
    assert signed_in_session(stored, customer) is None


@pytest.mark.parametrize(
    "backend",
    [
        "axes.backends.AxesStandaloneBackend",  # configured, but it finds nobody
        "django.contrib.auth.backends.RemoteUserBackend",  # not configured
        "",
    ],
)
def test_only_configured_backends_that_find_users_as_model_backend_does(customer, backend):
    assert signed_in_session(_stored(customer, backend=backend), customer) is None


def test_a_session_without_a_hash_or_user_does_not(customer):
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    assert (
        signed_in_session(
            store.encode({SESSION_KEY: str(customer.pk), BACKEND_SESSION_KEY: MODEL_BACKEND}), customer
        )
        is None
    )
    assert signed_in_session(store.encode({}), customer) is None


def test_tampered_data_does_not(customer):
    stored = _stored(customer)
    assert signed_in_session(stored[:-3] + ("AAA" if not stored.endswith("AAA") else "BBB"), customer) is None
    assert signed_in_session("not a session", customer) is None


def test_a_hash_only_an_old_key_matches_is_left_to_django(customer, settings):
    """``get_user`` renews such a hash, which needs the real session: no answer here."""
    settings.SECRET_KEY = "old-" + "k" * 50
    stored = _stored(customer)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "new-" + "k" * 50
    assert signed_in_session(stored, customer) is None


def _count_decodes(monkeypatch) -> list:
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    decodes = []
    real_decode = store_class.decode

    def counted(self, session_data):
        decodes.append(session_data)
        return real_decode(self, session_data)

    monkeypatch.setattr(store_class, "decode", counted)
    return decodes


def test_the_answer_is_remembered_for_the_same_question(customer, monkeypatch):
    stored = _stored(customer, _messages="[]")
    decodes = _count_decodes(monkeypatch)
    first = signed_in_session(stored, customer)
    assert signed_in_session(stored, customer) == first
    assert len(decodes) == 1
    with pytest.raises(TypeError):
        first["_messages"] = "changed"  # one answer serves many requests: nobody may change it
    customer.set_password("a-New-passphrase-43")
    assert signed_in_session(stored, customer) is None  # a new password is a new question
    assert len(decodes) == 2


def test_a_new_secret_key_forgets_every_answer(customer, settings, monkeypatch):
    stored = _stored(customer)
    assert signed_in_session(stored, customer) is not None
    settings.SECRET_KEY = "another-" + "k" * 50  # sessions signed with the old key no longer load
    assert signed_in_session(stored, customer) is None
