"""A small fixed-window rate limit on Django's cache (Redis when configured, else local memory),
and the client address every limit counts.

Each key may be used ``limit`` times per window; the window is counted from the epoch, so every
counter expires on its own and needs no clean-up. Every attempt counts, successful or not: a limit
that counted only failures would let a guesser learn from which tries were not counted.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# Where attempts are counted while the shared cache is away (this process only).
_local = LocMemCache("ratelimit-fallback", {"MAX_ENTRIES": 10000})


def hit(scope: str, key: str, *, limit: int, window: int = WINDOW_SECONDS, now: float | None = None) -> bool:
    """Count one attempt for ``key`` in ``scope``; True while it is within ``limit`` this window.

    ``cache.add`` creates the counter only if missing and ``cache.incr`` is atomic on Redis and
    memcached, so two requests at the same moment never both see a free slot.

    When Redis is away the shared cache answers None (django-redis, ``IGNORE_EXCEPTIONS``): the
    attempt is then counted in this process's own memory. Neither open nor shut: every limit here
    guards against abuse (guessing references, texting codes to many numbers, flooding sign-ups
    and resets), none a rule of the business, so while Redis is away each limit holds per web
    process (at most that many times the limit in all) and customers are never locked out by an
    outage that is not theirs.
    """
    now = time.time() if now is None else now
    bucket = int(now // window)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    count = _count(cache, cache_key, window)
    if count is None:
        logger.warning("Rate limit %s counted in this process only: the shared cache is away.", scope)
        count = _count(_local, cache_key, window)
    return count is not None and count <= limit


def _count(store: BaseCache, cache_key: str, window: int) -> int | None:
    # The counter lives one window past its own, so it is still there for the window's last request.
    store.add(cache_key, 0, timeout=window * 2)
    try:
        return store.incr(cache_key)
    except ValueError:  # evicted between add and incr: start again
        if store.add(cache_key, 1, timeout=window * 2):
            return 1
        try:
            return store.incr(cache_key)  # another request started it meanwhile
        except ValueError:
            return None


def client_ip(request) -> str:
    """The client's address, looking past ``TRUSTED_PROXY_COUNT`` reverse proxies.

    Behind a proxy every request arrives from the proxy's address; counted by that, all customers
    behind it would share one limit, and one attacker could use it up for everybody. Only the
    proxies we run are trusted: the address they appended is read from the right-hand end of
    X-Forwarded-For, never what the client wrote at its left (or anyone could claim a fresh
    address per attempt). Sign-in throttling (django-axes) and every other limit use this.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
