"""Text messages: one provider interface for everything the portal sends by SMS.

Two callers use it: the outbox's deliveries (``notifications``: notices, retried through their
``Delivery`` rows) and the one-time codes (``accounts.otp``: sent in the request, retried here by
``send_with_retry``). Both sit above ``common``, so the interface lives here, below every app, and
imports none of them.

A provider is a class named by ``SMS_BACKEND`` (setting or environment). ``LogFileBackend``, the
default, appends each message to ``var/sms.log`` and logs it on ``common.sms`` (so ``make run``
shows the codes in its output); ``MemoryBackend`` keeps them in ``outbox`` for tests; the real
adapters are ``common.sms.aliyun.AliyunSmsBackend`` and ``common.sms.tencent.TencentSmsBackend``.

Chinese providers send only approved templates with parameters, never free text, so every message
is an ``SmsMessage``: a template name (``code``, ``notice``, ``signup_taken``: the provider's template
code or ID for each comes from ``SMS_TEMPLATES``), its parameters, in the template's order, and the
whole text in the recipient's language, which the log and memory backends write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from common.pii import mask_phone

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """Permanent: the number or message is refused; retrying will not help."""


class SmsTransientError(SmsError):
    """Try again later: the provider is down, slow or throttling."""


@dataclasses.dataclass(frozen=True)
class SmsMessage:
    template: str  # a key of SMS_TEMPLATES: "code", "notice", "signup_taken"
    params: dict[str, str]  # in the order the provider's template numbers them (Tencent: {1}, {2}…)
    text: str  # the whole message, as the recipient reads it (log and memory backends)


class SmsBackend:
    """The interface. ``send_message`` is what callers use; a backend that takes free text only
    implements ``send``, one that needs templates overrides ``send_message``."""

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        """Send ``message`` to ``phone`` (11 ASCII digits). ``reference`` is unique per message:
        providers that accept a client reference use it to drop a repeated send."""
        self.send(phone=phone, text=message.text, reference=reference)

    def send(self, *, phone: str, text: str, reference: str) -> None:
        """A free-text notice (the outbox's deliveries)."""
        raise NotImplementedError

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        """Did the provider accept a message with this ``reference`` for ``phone`` since ``since``?
        None: this provider cannot say (the caller sends again: at least once). Raises
        SmsTransientError when it could say but cannot be asked now.

        Neither Alibaba Cloud nor Tencent Cloud drops a repeated send by itself (Alibaba's SendSms
        documentation: no idempotence, check the receipt before retrying); both keep the client
        reference each message was sent with and list it in their send records, which is what
        their adapters read here."""
        return None


class TemplateSmsBackend(SmsBackend):
    """Base of the providers that send templates only: a free-text notice becomes the ``notice``
    template with the text as its one parameter."""

    def send(self, *, phone: str, text: str, reference: str) -> None:
        self.send_message(
            phone=phone,
            message=SmsMessage(template="notice", params={"text": text}, text=text),
            reference=reference,
        )

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        raise NotImplementedError

    @staticmethod
    def template_id(template: str) -> str:
        template_id = settings.SMS_TEMPLATES.get(template)
        if not template_id:
            raise SmsError(f"no provider template configured for {template!r} (SMS_TEMPLATES)")
        return template_id


class LogFileBackend(SmsBackend):
    """Development: one line per message in var/sms.log (the number masked), and the same on the
    ``common.sms`` logger, which ``make run`` prints."""

    def __init__(self, path: Path | None = None):
        self.path = Path(
            path
            or getattr(settings, "SMS_LOG_FILE", "")
            or os.environ.get("SMS_LOG_FILE", "")
            or settings.VAR_DIR / "sms.log"
        )

    def send(self, *, phone: str, text: str, reference: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        text = text.replace("\r", " ").replace("\n", " ")
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp}\t{reference}\t{mask_phone(phone)}\t{text}\n")
        logger.info("SMS (log backend) to %s: %s", mask_phone(phone), text)

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        """The log is the record of what was sent (development, the cluster's fault drills)."""
        if not self.path.exists():
            return False
        needle = f"\t{reference}\t"
        with self.path.open(encoding="utf-8") as log:
            return any(needle in line for line in log)


@dataclasses.dataclass(frozen=True)
class SentSms:
    phone: str
    message: SmsMessage
    reference: str


# What MemoryBackend sent, oldest first, like django.core.mail.outbox; tests empty it.
outbox: list[SentSms] = []


class MemoryBackend(SmsBackend):
    """Tests: messages kept in ``common.sms.outbox`` (the test server shares the tests' process)."""

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        outbox.append(SentSms(phone=phone, message=message, reference=reference))

    def send(self, *, phone: str, text: str, reference: str) -> None:
        self.send_message(
            phone=phone, message=SmsMessage("notice", {"text": text}, text), reference=reference
        )

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        return any(sent.phone == phone and sent.reference == reference for sent in outbox)


@cache
def _backend_class(path: str) -> type[SmsBackend]:
    return import_string(path)


def get_backend() -> SmsBackend:
    path = getattr(settings, "SMS_BACKEND", "") or os.environ.get("SMS_BACKEND", "common.sms.LogFileBackend")
    return _backend_class(path)()


def send_with_retry(
    *,
    phone: str,
    message: SmsMessage,
    reference: str,
    delays: Sequence[float] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send now, retrying a transient failure after each of ``delays`` seconds (``SMS_RETRY_DELAYS``,
    by default 0.5 and 2: a code is wanted within seconds, so the retries are few and short).

    Each failure is logged with the reference, the masked number and the provider's words, never
    the message's parameters (a code) or the full number. Raises the last SmsError when every try
    failed: the caller tells the customer in its own words.
    """
    delays = settings.SMS_RETRY_DELAYS if delays is None else delays
    backend = get_backend()
    for attempt in range(len(delays) + 1):
        try:
            backend.send_message(phone=phone, message=message, reference=reference)
        except SmsTransientError as error:
            logger.warning(
                "SMS %s to %s (template %s) failed, try %d of %d: %s",
                reference,
                mask_phone(phone),
                message.template,
                attempt + 1,
                len(delays) + 1,
                error,
            )
            if attempt == len(delays):
                raise
            sleep(delays[attempt])
        except SmsError as error:
            logger.error(
                "SMS %s to %s (template %s) refused: %s",
                reference,
                mask_phone(phone),
                message.template,
                error,
            )
            raise
        else:
            return
