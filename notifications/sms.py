"""Text messages for the outbox: the provider interface lives in ``common.sms`` (below every app,
so the one-time codes of ``accounts`` use the same providers); these names stay importable here.
``SMS_BACKEND = "notifications.sms.LogFileBackend"`` still names the log-file backend."""

from __future__ import annotations

from common.sms import LogFileBackend, SmsBackend, SmsError, SmsTransientError, _backend_class, get_backend

__all__ = ["LogFileBackend", "SmsBackend", "SmsError", "SmsTransientError", "_backend_class", "get_backend"]
