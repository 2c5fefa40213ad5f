"""A small fixed-window rate limit on Django's cache (Redis when configured, else local memory).

Each key may be used ``limit`` times per window; the window is the current minute (60 s) counted
from the epoch, so every counter expires on its own and needs no clean-up. Every attempt counts,
successful or not: a limit that counted only failures would let a guesser learn from which tries
were not counted.
"""

from __future__ import annotations

import time

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
    """The address the request came from (REMOTE_ADDR). A client-supplied X-Forwarded-For is never
    trusted here, or anyone could claim a fresh address per attempt; behind a reverse proxy the
    deployment must hand Django the client's address as REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
