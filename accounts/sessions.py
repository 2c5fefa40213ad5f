"""Checking a stored session without going through ``request.session`` and ``request.user``.

For a page served from its kept copy after one query that read the session row with the rest
(the customer timeline's repeat views): the same decision as ``django.contrib.auth.get_user``
makes, or no decision, in which case the caller leaves the request to Django.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
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


@receiver(setting_changed)
def _forget_configuration(*, setting: str, **kwargs) -> None:
    if setting in ("AUTHENTICATION_BACKENDS", "SESSION_ENGINE"):
        sessions_in_database.cache_clear()
        _plain_backends.cache_clear()


def signed_in_session(session_data: str, user) -> dict | None:
    """The session's data if it signs in ``user``, else None.

    ``session_data``: a live row's data, as the session table holds it (the caller has checked
    its expiry date); ``user``: the account with at least its id, password hash and active flag.
    Signed in means, as for ``get_user``: the session names this user and one of the configured
    backends that look users up as ``ModelBackend`` does, the account is active, and the session's
    hash matches the password's under the current secret key. A hash that only a fallback key
    matches answers None too: Django then renews it on the normal path.
    """
    if not sessions_in_database():
        return None
    data = import_module(settings.SESSION_ENGINE).SessionStore().decode(session_data)
    backend, user_id, session_hash = (
        data.get(k) for k in (BACKEND_SESSION_KEY, SESSION_KEY, HASH_SESSION_KEY)
    )
    if backend not in _plain_backends() or not session_hash or not user.is_active:
        return None
    if str(user_id) != str(user.pk):
        return None
    if not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return data
