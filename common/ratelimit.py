"""A small fixed-window rate limit on Django's cache (Redis when configured, else local memory),
and the client address every limit counts.

Each key may be used ``limit`` times per window; the window is counted from the epoch, so every
counter expires on its own and needs no clean-up. Every attempt counts, successful or not: a limit
that counted only failures would let a guesser learn from which tries were not counted.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def hit(scope: str, key: str, *, limit: int, window: int = WINDOW_SECONDS, now: float | None = None) -> bool:
    """Count one attempt for ``key`` in ``scope``; True while it is within ``limit`` this window.

    ``cache.add`` creates the counter only if missing and ``cache.incr`` is atomic on Redis and
    memcached, so two requests at the same moment never both see a free slot.
    """
    now = time.time() if now is None else now
    bucket = int(now // window)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    # The counter lives one window past its own, so it is still there for the window's last request.
    cache.add(cache_key, 0, timeout=window * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr: start again
        cache.add(cache_key, 1, timeout=window * 2)
        count = 1
    return count <= limit


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
