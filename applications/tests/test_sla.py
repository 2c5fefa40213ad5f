"""The SLA clock counts working time: working hours on working days of the calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications import services
from applications.choices import Stage
from applications.sla import Calendar, add_working_time, load_calendar
from applications.working_calendar import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


PLAIN = Calendar()


def test_time_within_one_working_day_is_added_as_is():
    assert add_working_time(at(2026, 3, 2, 10), 3 * H, PLAIN) == at(2026, 3, 2, 13)


def test_the_clock_stops_at_the_end_of_the_working_day():
    assert add_working_time(at(2026, 3, 3, 17), 2 * H, PLAIN) == at(2026, 3, 4, 10)


def test_time_before_opening_starts_counting_at_nine():
    assert add_working_time(at(2026, 3, 3, 6, 30), H, PLAIN) == at(2026, 3, 3, 10)


def test_a_weekend_does_not_count():
    # Friday 17:00 + 2 working hours: one on Friday, one on Monday.
    assert add_working_time(at(2026, 3, 6, 17), 2 * H, PLAIN) == at(2026, 3, 9, 10)


def test_a_stage_entered_on_saturday_starts_on_monday_morning():
    assert add_working_time(at(2026, 3, 7, 11), H, PLAIN) == at(2026, 3, 9, 10)


def test_a_public_holiday_does_not_count():
    # Qingming 2026: Saturday 4 to Monday 6 April. Friday 17:00 + 2 h ends on Tuesday 10:00.
    calendar = Calendar(overrides={dt.date(2026, 4, 6): False})
    assert add_working_time(at(2026, 4, 3, 17), 2 * H, calendar) == at(2026, 4, 7, 10)


def test_a_make_up_saturday_counts():
    # 调休: Saturday 28 February 2026 is a working day after the Spring Festival.
    calendar = Calendar(overrides={dt.date(2026, 2, 28): True})
    assert add_working_time(at(2026, 2, 27, 17), 2 * H, calendar) == at(2026, 2, 28, 10)


def test_the_result_is_in_utc():
    due = add_working_time(at(2026, 3, 2, 10), H, PLAIN)
    assert due.tzinfo == dt.UTC and due == dt.datetime(2026, 3, 2, 3, tzinfo=dt.UTC)


def test_a_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError):
        add_working_time(at(2026, 3, 2, 10), H, Calendar(day_start=dt.time(9), day_end=dt.time(9)))


def test_the_migration_seeds_the_2026_spring_festival_and_its_make_up_days(db):
    calendar = load_calendar(around=dt.date(2026, 2, 1))
    assert not calendar.is_working_day(dt.date(2026, 2, 16))  # Monday of the Spring Festival
    assert calendar.is_working_day(dt.date(2026, 2, 14))  # make-up Saturday
    assert calendar.is_working_day(dt.date(2026, 2, 24))  # back at work
    assert CalendarDay.objects.filter(date__year=2027).exists()


def test_a_review_entered_before_the_spring_festival_is_due_after_it(draft, customer):
    # Friday 13 Feb 2026, 17:00 Shanghai; under review has 24 working hours.
    # Fri 1 h + Sat 14 Feb (make-up) 9 h + [15–23 Feb holiday] + Tue 24 9 h + Wed 25 5 h = 24 h.
    with time_machine.travel(at(2026, 2, 13, 17), tick=False):
        application = services.application_submit(application=draft, actor=customer)
        application = services.precheck_start(application=application)
        application = services.precheck_pass(application=application)
    assert application.stage == Stage.UNDER_REVIEW
    assert application.stage_due_at == at(2026, 2, 25, 14)


def test_a_stage_waiting_on_the_customer_keeps_calendar_time(draft, customer):
    with time_machine.travel(at(2026, 2, 13, 17), tick=False):
        application = services.application_submit(application=draft, actor=customer)
        application = services.precheck_start(application=application)
        application = services.precheck_request_documents(application=application)
    assert application.stage == Stage.AWAITING_DOCUMENTS
    assert application.stage_due_at == at(2026, 2, 27, 17)  # 14 days, holiday or not
