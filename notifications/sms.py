"""Text messages: one small interface; the default backend appends to var/sms.log.

A real provider plugs in with ``SMS_BACKEND = "dotted.path.Backend"`` (setting or environment).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """Permanent: the number or message is refused; retrying will not help."""


class SmsTransientError(SmsError):
    """Try again later: the provider is down or throttling."""


class SmsBackend:
    def send(self, *, phone: str, text: str, reference: str) -> None:
        """Send ``text`` to ``phone``. ``reference`` is unique per delivery: providers that accept
        a client reference use it to drop a repeated send."""
        raise NotImplementedError


class LogFileBackend(SmsBackend):
    """Development and tests: one line per message in var/sms.log (the number masked)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(
            path
            or getattr(settings, "SMS_LOG_FILE", "")
            or os.environ.get("SMS_LOG_FILE", "")
            or settings.VAR_DIR / "sms.log"
        )

    def send(self, *, phone: str, text: str, reference: str) -> None:
        from common.pii import mask_phone

        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        line = f"{stamp}\t{reference}\t{mask_phone(phone)}\t{text}\n".replace("\r", " ")
        with self.path.open("a", encoding="utf-8") as log:
            log.write(line)


@cache
def _backend_class(path: str) -> type[SmsBackend]:
    return import_string(path)


def get_backend() -> SmsBackend:
    path = getattr(settings, "SMS_BACKEND", "") or os.environ.get(
        "SMS_BACKEND", "notifications.sms.LogFileBackend"
    )
    return _backend_class(path)()
