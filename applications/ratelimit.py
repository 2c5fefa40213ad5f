"""The rate limit and the client address it counts live in ``common.ratelimit`` (accounts' code
limits use them too); these names stay importable here."""

from __future__ import annotations

from common.ratelimit import WINDOW_SECONDS, client_ip, hit

__all__ = ["WINDOW_SECONDS", "client_ip", "hit"]
