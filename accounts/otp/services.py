"""Issue and check one-time codes: 6 digits, 5 minutes, one use, 5 tries, a new one after 60 s.

Limits, all counted before anything is sent:

* one code per purpose and number every ``RESEND_AFTER`` (60 s);
* ``OTP_PER_NUMBER_PER_HOUR`` codes (5) to one number in the last hour, whatever the purpose
  (counted from the rows: a number cannot be flooded from many addresses);
* ``OTP_PER_ADDRESS_PER_HOUR`` requests (20) from one client address (``common.ratelimit``, the
  address the proxy saw): one address cannot flood many numbers.

Where sending a code would tell a visitor whether a number has an account (sign-in, reset, sign-up,
tracking), the views call ``code_send`` with ``deliver=False`` for a number that has none: a row is
written that stands in for the code and matches nothing, so the limits, the waits and the answers
are the same. The code itself exists only in the text message: the row keeps its keyed hash.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from common import ratelimit, sms
from common.identifiers import ascii_digits
from common.pii import keyed_hash

from ..models import User
from .models import OneTimeCode, Purpose

CODE_DIGITS = 6
LIFETIME = dt.timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = dt.timedelta(seconds=60)


class CodeRefused(Exception):
    """No code sent: too soon after the last one (``wait`` seconds left) or over a limit."""

    def __init__(self, *, wait: int | None = None) -> None:
        super().__init__(wait)
        self.wait = wait


class CodeNotSent(Exception):
    """The provider failed after its retries (logged by ``common.sms``); the customer may try later."""


class CodeInvalid(Exception):
    """Wrong, expired, used, or tried too often: one answer for all (``exhausted``: ask for a new one)."""

    def __init__(self, *, exhausted: bool = False) -> None:
        super().__init__(exhausted)
        self.exhausted = exhausted


@dataclass(frozen=True)
class Notice:
    """A text sent instead of a code (the owner of a number someone tried to sign up with)."""

    template: str
    text: str


def _hash(salt: str, code: str) -> str:
    return keyed_hash(f"one-time-code:{salt}:{code}")


def _context_hash(context: str) -> str:
    return keyed_hash(f"one-time-code-context:{context}") if context else ""


def code_send(
    *,
    purpose: Purpose,
    phone: str,
    client_ip: str,
    user: User | None = None,
    context: str = "",
    deliver: bool = True,
    notice: Notice | None = None,
    now: dt.datetime | None = None,
) -> OneTimeCode:
    """Write a code for ``phone`` (canonical, validated) and text it, after the limits.

    ``deliver=False``: the row only (a number with no account); ``notice``: that text instead of
    the code. Raises CodeRefused (nothing written or sent) or CodeNotSent (the provider failed;
    the row stays and counts, so a failing provider is not hammered).
    """
    now = now or timezone.now()
    target = keyed_hash(phone)
    codes = OneTimeCode.objects.filter(target_hash=target)
    last = codes.filter(purpose=purpose).order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < RESEND_AFTER:
        raise CodeRefused(wait=math.ceil((RESEND_AFTER - (now - last)).total_seconds()))
    if codes.filter(created_at__gt=now - dt.timedelta(hours=1)).count() >= settings.OTP_PER_NUMBER_PER_HOUR:
        raise CodeRefused()
    if not ratelimit.hit("otp-address", client_ip, limit=settings.OTP_PER_ADDRESS_PER_HOUR, window=3600):
        raise CodeRefused()

    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    row = OneTimeCode.objects.create(
        purpose=purpose,
        target_hash=target,
        context_hash=_context_hash(context),
        user=user,
        salt=salt,
        code_hash=_hash(salt, code) if deliver and notice is None else "",
        created_at=now,
        expires_at=now + LIFETIME,
    )
    if notice is not None:
        message = sms.SmsMessage(template=notice.template, params={}, text=notice.text)
    elif deliver:
        minutes = int(LIFETIME.total_seconds() // 60)
        text = _(
            "Your Loan Portal code is %(code)s, valid for %(minutes)s minutes. Never tell it to anyone, "
            "not even our staff."
        ) % {"code": code, "minutes": minutes}
        message = sms.SmsMessage(template="code", params={"code": code, "minutes": str(minutes)}, text=text)
    else:
        return row
    try:
        sms.send_with_retry(phone=phone, message=message, reference=f"loanportal-code-{row.pk}")
    except sms.SmsError:
        raise CodeNotSent() from None
    return row


def code_verify(
    *, purpose: Purpose, phone: str, code: str, context: str = "", now: dt.datetime | None = None
) -> OneTimeCode:
    """Use the newest code of this purpose sent to ``phone``: right, unexpired, unused, within its
    tries and for this ``context``. Every try counts (a conditional UPDATE, so two at once cannot
    both take the last one); a right code is closed by another, so it works once.

    Raises CodeInvalid, the same whatever was wrong.
    """
    now = now or timezone.now()
    code = ascii_digits(code or "").replace(" ", "").strip()
    row = (
        OneTimeCode.objects.filter(purpose=purpose, target_hash=keyed_hash(phone))
        .select_related("user")
        .order_by("-created_at")
        .first()
    )
    if row is None or row.closed_at is not None or row.expires_at <= now:
        raise CodeInvalid()
    counted = OneTimeCode.objects.filter(pk=row.pk, attempts__lt=MAX_TRIES, closed_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise CodeInvalid(exhausted=True)
    right = (
        bool(row.code_hash)
        and len(code) == CODE_DIGITS
        and hmac.compare_digest(row.code_hash, _hash(row.salt, code))
        and hmac.compare_digest(row.context_hash, _context_hash(context))
    )
    if not right:
        raise CodeInvalid(exhausted=row.attempts + 1 >= MAX_TRIES)
    if not OneTimeCode.objects.filter(pk=row.pk, closed_at__isnull=True).update(closed_at=now):
        raise CodeInvalid()  # used a moment ago by another request
    row.closed_at = now
    return row


def codes_purge(*, now: dt.datetime | None = None, keep: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete code rows older than ``keep`` (a day: longer than any limit counts back): they hold
    only hashes, but a number's hash and when it asked for codes are still about a person."""
    now = now or timezone.now()
    deleted, _by_model = OneTimeCode.objects.filter(created_at__lt=now - keep).delete()
    return deleted
