"""The rate limit per key, counted by the shared limiter (``common.ratelimit``, on the cache):
``API_RATE_LIMIT`` requests a minute. Past it the answer is 429 with ``Retry-After``."""

from __future__ import annotations

import math
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from common.ratelimit import WINDOW_SECONDS, hit

from .models import ApiKey


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # no key: refused by the permissions before anything is done
        return hit("api", api_key.prefix, limit=settings.API_RATE_LIMIT, window=WINDOW_SECONDS)

    def wait(self) -> float:
        """Seconds until the counter's window ends (the limiter's windows start at the epoch)."""
        return max(1, math.ceil(WINDOW_SECONDS - time.time() % WINDOW_SECONDS))
