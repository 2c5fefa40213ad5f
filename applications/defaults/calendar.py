"""The working calendar of the SLA clock as migration 0008 seeds it: mainland China's public
holidays and make-up working days (调休) for 2026 and 2027.

2026: the State Council's notice (国办发明电〔2025〕7号) as we know it — 元旦 1–3 Jan (Sun 4 Jan
worked); 春节 15–23 Feb (Sat 14 Feb and Sat 28 Feb worked); 清明 4–6 Apr; 劳动节 1–5 May (Sat 9 May
worked); 端午 19–21 Jun; 中秋 25–27 Sep; 国庆 1–7 Oct (Sun 20 Sep and Sat 10 Oct worked).
UNSURE: the 劳动节 make-up day (9 May) and the 国庆 make-up days (20 Sep, 10 Oct) — check them
against the published notice in admin.

2027: the State Council had not published its schedule when this was written. Only the statutory
days are seeded (元旦 1 Jan; 春节 除夕–初三 5–8 Feb; 清明 5 Apr; 劳动节 1–2 May; 端午 9 Jun;
中秋 15 Sep; 国庆 1–3 Oct), marked "provisional"; the bridging days off and the 调休 make-up
working days must be entered in admin when the notice appears (usually in November).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.apps.registry import Apps

HOLIDAYS_2026 = [
    ("2026-01-01", "2026-01-03", "元旦 New Year's Day"),
    ("2026-02-15", "2026-02-23", "春节 Spring Festival"),
    ("2026-04-04", "2026-04-06", "清明节 Qingming"),
    ("2026-05-01", "2026-05-05", "劳动节 Labour Day"),
    ("2026-06-19", "2026-06-21", "端午节 Dragon Boat Festival"),
    ("2026-09-25", "2026-09-27", "中秋节 Mid-Autumn Festival"),
    ("2026-10-01", "2026-10-07", "国庆节 National Day"),
]
MAKE_UP_DAYS_2026 = [
    ("2026-01-04", "调休 make-up day for 元旦"),
    ("2026-02-14", "调休 make-up day for 春节"),
    ("2026-02-28", "调休 make-up day for 春节"),
    ("2026-05-09", "调休 make-up day for 劳动节 (unsure: check the notice)"),
    ("2026-09-20", "调休 make-up day for 国庆节 (unsure: check the notice)"),
    ("2026-10-10", "调休 make-up day for 国庆节 (unsure: check the notice)"),
]
PROVISIONAL = " (provisional: statutory day only, 2027 notice not yet entered)"
HOLIDAYS_2027 = [
    ("2027-01-01", "2027-01-01", "元旦 New Year's Day" + PROVISIONAL),
    ("2027-02-05", "2027-02-08", "春节 Spring Festival" + PROVISIONAL),
    ("2027-04-05", "2027-04-05", "清明节 Qingming" + PROVISIONAL),
    ("2027-05-01", "2027-05-02", "劳动节 Labour Day" + PROVISIONAL),
    ("2027-06-09", "2027-06-09", "端午节 Dragon Boat Festival" + PROVISIONAL),
    ("2027-09-15", "2027-09-15", "中秋节 Mid-Autumn Festival" + PROVISIONAL),
    ("2027-10-01", "2027-10-03", "国庆节 National Day" + PROVISIONAL),
]


def calendar_days() -> Iterator[tuple[dt.date, bool, str]]:
    """(date, is a working day, note) for every holiday and make-up working day."""
    for first, last, note in HOLIDAYS_2026 + HOLIDAYS_2027:
        day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= end:
            yield day, False, note
            day += dt.timedelta(days=1)
    for day, note in MAKE_UP_DAYS_2026:
        yield dt.date.fromisoformat(day), True, note


def working_calendar_load(apps: Apps) -> None:
    """The calendar and its days, where missing (idempotent: a day an admin edited stays as it is)."""
    WorkingCalendar = apps.get_model("applications", "WorkingCalendar")
    CalendarDay = apps.get_model("applications", "CalendarDay")
    if not WorkingCalendar.objects.exists():
        WorkingCalendar.objects.create(
            name="Mainland China", time_zone="Asia/Shanghai", day_start=dt.time(9), day_end=dt.time(18)
        )
    for day, is_working, note in calendar_days():
        CalendarDay.objects.get_or_create(date=day, defaults={"is_working": is_working, "note": note})
