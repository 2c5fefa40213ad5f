"""How the customer pages write times, durations, money and rates: ``{% load timeline %}``.

The functions are plain Python too, for views and notification texts. Times are shown in the
site's time zone (Asia/Shanghai); money as ``common.money`` writes it.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from django import template
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from common.money import fen, yuan

from ..choices import Stage

register = template.Library()

# Our own short weekday names: Django's Chinese catalogue says 星期二 where a timeline says 周二.
_WEEKDAYS = (
    pgettext_lazy("weekday, short", "Mon"),
    pgettext_lazy("weekday, short", "Tue"),
    pgettext_lazy("weekday, short", "Wed"),
    pgettext_lazy("weekday, short", "Thu"),
    pgettext_lazy("weekday, short", "Fri"),
    pgettext_lazy("weekday, short", "Sat"),
    pgettext_lazy("weekday, short", "Sun"),
)
# Within this many days the weekday alone names the day without ambiguity.
_WEEKDAY_ONLY_DAYS = 6


def short_when(value: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """ "Tue 14:00" within the coming week, "Tue 8 Dec 14:00" beyond it (zh: 周二 14:00)."""
    local = timezone.localtime(value)
    today = timezone.localdate(now or timezone.now())
    weekday = str(_WEEKDAYS[local.weekday()])
    clock = local.strftime("%H:%M")
    if abs((local.date() - today).days) <= _WEEKDAY_ONLY_DAYS:
        return _("%(weekday)s %(time)s") % {"weekday": weekday, "time": clock}
    day = dateformat.format(local, pgettext("date format: day and month", "j M"))
    return _("%(weekday)s %(date)s %(time)s") % {"weekday": weekday, "date": day, "time": clock}


@register.filter
def when(value: dt.datetime | None) -> str:
    """A full date and time for the history: "30 Nov 2026, 14:05" (zh: 2026年11月30日 14:05)."""
    if value is None:
        return ""
    return dateformat.format(timezone.localtime(value), pgettext("date and time format", "j M Y, H:i"))


@register.filter
def iso_when(value: str | None) -> str:
    """``when`` for a time written as ISO 8601 text (the privacy export's document)."""
    return when(dt.datetime.fromisoformat(value)) if value else ""


@register.filter
def day(value: dt.datetime | None) -> str:
    """A date: "30 Nov 2026" (zh: 2026年11月30日)."""
    if value is None:
        return ""
    return dateformat.format(timezone.localtime(value), pgettext("date format", "j M Y"))


def about(duration: dt.timedelta) -> str:
    """A rough duration for "about …": minutes under an hour (to 5), hours under two days, else days."""
    minutes = max(duration.total_seconds() / 60, 0)
    if minutes < 55:
        count = max(5, math.ceil(minutes / 5) * 5)
        return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": count}
    hours = minutes / 60
    if hours < 47.5:
        count = max(1, math.floor(hours + 0.5))  # half up: 2.5 days is "3 days"
        return ngettext("%(count)s hour", "%(count)s hours", count) % {"count": count}
    count = max(2, math.floor(hours / 24 + 0.5))
    return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}


def expected_text(
    expected_at: dt.datetime, remaining: dt.timedelta, *, now: dt.datetime | None = None
) -> str:
    """ "Expected by Tue 14:00, about 6 hours" (zh: 预计 周二 14:00 前完成，约 6 小时)."""
    return _("Expected by %(when)s, about %(duration)s") % {
        "when": short_when(expected_at, now=now),
        "duration": about(remaining),
    }


def disbursement_text(
    expected_at: dt.datetime, *, stage: str, if_customer_acts_today: bool, now: dt.datetime | None = None
) -> str:
    """The whole file's expected disbursement: "Expected disbursement by Mon 14 Dec 11:00."; when
    the file waits on the customer, counted from their acting today: "If you upload the documents
    today, expected disbursement by …" (zh: 如您今天上传材料，预计 … 前放款。)."""
    when = short_when(expected_at, now=now)
    if not if_customer_acts_today:
        return _("Expected disbursement by %(when)s.") % {"when": when}
    if stage == Stage.OFFER_PENDING:
        return _("If you accept the offer today, expected disbursement by %(when)s.") % {"when": when}
    return _("If you upload the documents today, expected disbursement by %(when)s.") % {"when": when}


def reply_by_text(deadline: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """The customer's own deadline: "Please reply by Tue 8 Dec 14:00 (6 days left)"."""
    now = now or timezone.now()
    if deadline <= now:
        return _("The time to reply ended on %(when)s.") % {"when": short_when(deadline, now=now)}
    return _("Please reply by %(when)s (%(duration)s left).") % {
        "when": short_when(deadline, now=now),
        "duration": about(deadline - now),
    }


# Money is written in one place, ``common.money``: ``{{ amount|yuan }}`` is ¥140,000.00 (half-up to
# the fen, thousands separators), ``{{ amount|fen }}`` the same without the sign.
register.filter("yuan", yuan)
register.filter("fen", fen)


@register.filter
def rate(value: Decimal | None) -> str:
    """An annual rate as a percentage with two decimals: 0.0588 → 5.88%."""
    if value is None:
        return ""
    return f"{Decimal(value) * 100:.2f}%"
