"""The shared cache (django-redis), left alone for a moment after it failed.

django-redis with ``IGNORE_EXCEPTIONS`` turns every failed call into a miss, but each call still
tries Redis first: refused at once when Redis is stopped, after the full ``CACHE_SOCKET_TIMEOUT``
(0.1 s) when it is hung (connected, silent). A transition makes two calls, a timeline five or six,
so a hung Redis made each of them 0.2–0.6 s slower. ``BreakerClient`` (the ``CLIENT_CLASS``) is
the circuit breaker of ``common.broker`` for the cache: after a failure this process does not try
Redis for ``CACHE_RETRY_AFTER`` seconds (every call is a miss at once), then one call tries again.
So a hung Redis costs each process one timeout every few seconds, not one per call.

``cache_away()`` says whether this process is leaving the cache alone now: what is costly to
compute and was kept there (the delay prediction's table) can then be kept in the process instead.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted

# time.monotonic() before which this process does not try the cache's server.
_away_until = 0.0


class CacheAway(ConnectionError):
    """Not tried: the cache's server failed a moment ago (the cause of the miss django-redis logs)."""


def cache_away() -> bool:
    """Is this process leaving the shared cache alone after a failure?"""
    return time.monotonic() < _away_until


def cache_reset() -> None:
    """Try the cache's server again at the next call (tests)."""
    global _away_until
    _away_until = 0.0


def _breaker(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: DefaultClient, *args: Any, **kwargs: Any) -> Any:
        global _away_until
        if cache_away():
            # What django-redis raises for a failed call: with IGNORE_EXCEPTIONS a miss, logged.
            raise ConnectionInterrupted(connection=None) from CacheAway(
                f"Redis failed less than {settings.CACHE_RETRY_AFTER:g} s ago; not tried"
            )
        try:
            return method(self, *args, **kwargs)
        except ConnectionInterrupted:
            _away_until = time.monotonic() + settings.CACHE_RETRY_AFTER
            raise

    return call


class BreakerClient(DefaultClient):
    """django-redis's client; every cache call the portal makes goes through the breaker."""

    get = _breaker(DefaultClient.get)
    get_many = _breaker(DefaultClient.get_many)
    set = _breaker(DefaultClient.set)
    set_many = _breaker(DefaultClient.set_many)
    add = _breaker(DefaultClient.add)
    delete = _breaker(DefaultClient.delete)
    delete_many = _breaker(DefaultClient.delete_many)
    incr = _breaker(DefaultClient.incr)
    decr = _breaker(DefaultClient.decr)
    has_key = _breaker(DefaultClient.has_key)
    touch = _breaker(DefaultClient.touch)
    clear = _breaker(DefaultClient.clear)
