"""Secrets and signatures of webhook posts.

Every post carries three headers (README, "Webhooks"):

- ``Webhook-Id``: the event's id (a UUID); the same for every attempt, so a receiver that keeps the
  ids it handled ignores a repeat;
- ``Webhook-Timestamp``: when this attempt was made, in whole seconds since the Unix epoch (UTC);
- ``Webhook-Signature``: ``v1=<hex>``, the HMAC-SHA256, keyed with the endpoint's secret (its text,
  UTF-8), of ``"{timestamp}.{body}"``: the timestamp header, a full stop and the body's bytes as
  sent. While a rotated secret overlaps, one signature per secret, newest first, comma-separated
  (``v1=<new>,v1=<old>``); a receiver accepts the post if any of them matches a secret it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a label in front of each secret, not a secret)
SIGNATURE_VERSION = "v1"


def secret_new() -> str:
    """A new endpoint secret: 32 random bytes, URL-safe base64, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with the secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """``Webhook-Signature``: one ``v1=<hex>`` per secret, in the order given (newest first)."""
    return ",".join(
        f"{SIGNATURE_VERSION}={signature(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets
    )
