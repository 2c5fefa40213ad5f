"""The SLA clock: a stage's time limit counted in working time.

Staff stages run on the working calendar (working hours on working days; weekends off unless a
调休 make-up day says otherwise; public holidays off). ``add_working_time`` is pure: it takes a
``Calendar`` snapshot, so it is tested without a database and computed once, when a stage is
entered (the due time is stored on the application, never recomputed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import CUSTOMER_STAGES, FINAL_STAGES, Stage


class SlaState(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


# Stages whose limit runs in calendar time: those waiting on the customer (the staff clock pauses;
# the customer's deadline is in days) and the automatic steps, which run day and night.
CALENDAR_TIME_STAGES = CUSTOMER_STAGES | {Stage.SUBMITTED, Stage.CREDIT_CHECK}
# Stages on the staff clock: the SLA sweep marks them at risk / overdue and reminds their owner.
STAFF_CLOCK_STAGES = frozenset(set(Stage) - CALENDAR_TIME_STAGES - FINAL_STAGES)
# Fractions of the stage's time (entry → due) at which it is at risk, overdue, escalated again.
AT_RISK_AT = (4, 5)
ESCALATE_AGAIN_AT = (3, 2)

# A calendar with no working day for this long is a configuration error, not a deadline.
_MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Calendar:
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)
    # Dates whose working status differs from their weekday: True = make-up working day, False = holiday.
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)

    def is_working_day(self, day: dt.date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)


def add_working_time(start: dt.datetime, duration: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The moment ``duration`` of working time after ``start`` (an aware datetime), in UTC.

    Time outside working hours does not count: a stage entered on Friday at 17:00 with two working
    hours left ends on Monday at 10:00 (or on Saturday at 10:00 if that Saturday is a make-up day).
    A zero duration ends at ``start`` itself.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if duration <= dt.timedelta(0):
        return start.astimezone(dt.UTC)
    tz = calendar.time_zone
    cursor = start.astimezone(tz)
    remaining = duration
    day = cursor.date()
    for _attempt in range(_MAX_DAYS):
        if calendar.is_working_day(day):
            opens = dt.datetime.combine(day, calendar.day_start, tzinfo=tz)
            closes = dt.datetime.combine(day, calendar.day_end, tzinfo=tz)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    raise ValueError("the working calendar has no working time in the next three years")


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: Calendar) -> dt.timedelta:
    """The working time from ``start`` to ``end`` (aware datetimes): the inverse of
    ``add_working_time``, so ``add_working_time(start, working_time_between(start, end, c), c)`` is
    the first working moment at or after ``end``. Zero when ``end`` is not after ``start``. A stay
    from Friday 17:00 to Monday 10:00 took two working hours."""
    if end <= start:
        return dt.timedelta(0)
    tz = calendar.time_zone
    first, last = start.astimezone(tz), end.astimezone(tz)
    total = dt.timedelta(0)
    day = first.date()
    while day <= last.date():
        if calendar.is_working_day(day):
            opens = max(first, dt.datetime.combine(day, calendar.day_start, tzinfo=tz))
            closes = min(last, dt.datetime.combine(day, calendar.day_end, tzinfo=tz))
            if closes > opens:
                total += closes - opens
        day += dt.timedelta(days=1)
    return total


def load_calendar(*, around: dt.date, days: int = 400) -> Calendar:
    """The calendar from the database: working hours and the overrides from ``around`` on
    (two queries). ``days`` bounds the look-ahead; SLAs are hours or days, never a year."""
    from .working_calendar import CalendarDay, WorkingCalendar

    hours = WorkingCalendar.objects.order_by("pk").first() or WorkingCalendar()
    overrides = dict(
        CalendarDay.objects.filter(
            date__gte=around - dt.timedelta(days=1), date__lte=around + dt.timedelta(days=days)
        ).values_list("date", "is_working")
    )
    return Calendar(
        time_zone=ZoneInfo(hours.time_zone),
        day_start=hours.day_start,
        day_end=hours.day_end,
        overrides=overrides,
    )
