"""Checking a stored session without going through ``request.session`` and ``request.user``.

For a page served from its kept copy after one query that read the session row with the rest
(the customer timeline's repeat views): the same decision as ``django.contrib.auth.get_user``
makes, or no decision, in which case the caller leaves the request to Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import import_module
from types import MappingProxyType

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare


@cache
def sessions_in_database() -> bool:
    """Whether the session engine keeps sessions in the database (``db`` or ``cached_db``): only
    then is a session row the record of who is signed in."""
    return issubclass(import_module(settings.SESSION_ENGINE).SessionStore, DatabaseSessionStore)


@cache
def _plain_backends() -> frozenset[str]:
    """The configured backends that find a signed-in user as ``ModelBackend`` does: by primary
    key, refusing an inactive account."""
    plain = set()
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = type(load_backend(path))
        if (
            issubclass(backend, ModelBackend)
            and backend.get_user is ModelBackend.get_user
            and backend.user_can_authenticate is ModelBackend.user_can_authenticate
        ):
            plain.add(path)
    return frozenset(plain)


# Settings that change what a stored session decides.
_DECIDING_SETTINGS = frozenset(
    {
        "AUTHENTICATION_BACKENDS",
        "AUTH_USER_MODEL",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "SESSION_ENGINE",
        "SESSION_SERIALIZER",
    }
)


@receiver(setting_changed)
def _forget_configuration(*, setting: str, **kwargs) -> None:
    if setting in _DECIDING_SETTINGS:
        sessions_in_database.cache_clear()
        _plain_backends.cache_clear()
        _decision.cache_clear()


def signed_in_session(session_data: str, *, user_id, password: str, is_active: bool) -> Mapping | None:
    """The session's data (read-only) if it signs in the account ``user_id`` with this password
    hash and active flag, else None.

    ``session_data``: a live row's data, as the session table holds it (the caller has checked
    its expiry date). Signed in means, as for ``get_user``: the session names this user and one of
    the configured backends that look users up as ``ModelBackend`` does, the account is active,
    and the session's hash matches the password's under the current secret key. A hash that only
    a fallback key matches answers None too: Django then renews it on the normal path.

    The answer depends on nothing but these values and the settings, so each process remembers
    the latest few thousand: a customer's repeat views skip decoding the session and hashing the
    password. A changed password, a deactivated account or a new session is a new question; a
    change to a deciding setting forgets every answer.
    """
    return _decision(session_data, user_id, password, is_active)


@lru_cache(maxsize=2048)
def _decision(session_data: str, user_id, password: str, is_active: bool) -> Mapping | None:
    if not sessions_in_database() or not is_active:
        return None
    data = import_module(settings.SESSION_ENGINE).SessionStore().decode(session_data)
    backend, session_user, session_hash = (
        data.get(k) for k in (BACKEND_SESSION_KEY, SESSION_KEY, HASH_SESSION_KEY)
    )
    if backend not in _plain_backends() or not session_hash or str(session_user) != str(user_id):
        return None
    # The model's own hash, as ``get_user`` compares it.
    account = get_user_model()(pk=user_id, password=password, is_active=is_active)
    if not constant_time_compare(session_hash, account.get_session_auth_hash()):
        return None
    return MappingProxyType(data)
