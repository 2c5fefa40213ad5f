"""The cache of ``make bench``'s cold server: every request starts with every cache empty.

wrk cannot empty Redis between two requests, so the cold server's cache is this process's memory
(Django's ``LocMemCache``), emptied when each request starts (``request_started``): no request
ever finds what an earlier one stored. The customer's session is read from the database
(``cached_db`` finds no copy), the configuration is loaded, the timeline's body is built, and a
rate-limit counter never reaches its limit. What a request stores it finds again within the same
request, as it would in a Redis emptied just before (a page that reads the configuration twice
loads it once).

One thing is read as a running deployment has it: the delay prediction's table
(``applications.prediction``), which beat recomputes every 4 minutes, ahead of its expiry, so
that no page ever computes it (1 s on a million applications). It is kept in the real cache
(Redis, at ``LOCATION``; the warm server shares it), under the same key.

Only the bench settings name this backend (``BENCH_COLD=1``), and only the benchmark uses them.
A miss here costs a dictionary look-up, where a miss in Redis costs a round trip: the cold figures
are, if anything, slightly kind to the pages.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import request_started

from applications.prediction import _CACHE_KEY as PREDICTION_KEY

# What beat keeps filled in a running deployment: read and written in the real cache.
KEPT = frozenset({PREDICTION_KEY})


class ColdCache(LocMemCache):
    """Emptied at the start of every request, but the keys in ``KEPT`` go to a real cache at
    ``LOCATION`` (Redis; without a location, this process's memory, kept)."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__("bench-cold", params)
        self.kept = RedisCache(location, params) if location else LocMemCache("bench-kept", params)
        request_started.connect(self._empty)

    def _empty(self, **kwargs: Any) -> None:
        self.clear()

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        if key in KEPT:
            return self.kept.get(key, default, version)
        return super().get(key, default, version)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        if key in KEPT:
            self.kept.set(key, value, timeout, version)
            return
        super().set(key, value, timeout, version)
