"""The date range: the last 90 days by default, presets, and clear messages for anything wrong."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from reports.forms import ReportRangeForm

pytestmark = pytest.mark.django_db

URL = reverse("reports:sla")
TODAY = dt.date(2026, 11, 30)


def form(start: str, end: str) -> ReportRangeForm:
    return ReportRangeForm({"start": start, "end": end}, today=TODAY)


def test_a_range_up_to_today_of_at_most_a_year_is_accepted():
    assert form("2025-11-30", "2026-11-29").is_valid()  # 365 days
    assert form("2026-11-30", "2026-11-30").is_valid()  # one day


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-11-20", "2026-11-10", "end", "The end date must be on or after the start date."),
        ("2025-11-28", "2026-11-29", "end", "Choose at most 366 days (one year)."),
        ("2026-11-01", "2026-12-01", "end", "The end date cannot be after today."),
        ("1999-12-31", "2000-01-05", "start", "Choose a date from 2000-01-01 on."),
        ("2026-13-45", "2026-11-30", "start", "Enter a date as year-month-day, for example 2026-11-30."),
        ("yesterday", "2026-11-30", "start", "Enter a date as year-month-day, for example 2026-11-30."),
        ("2026-11-01", "", "end", "Enter a date."),
    ],
)
def test_a_wrong_range_says_what_is_wrong(start, end, field, message):
    checked = form(start, end)

    assert not checked.is_valid()
    assert checked.errors[field] == [message]


@time_machine.travel(dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC), tick=False)
def test_without_dates_the_page_shows_the_last_ninety_days_in_shanghai(client, manager):
    client.force_login(manager)

    report = client.get(URL).context["report"]

    assert (report.range.start, report.range.end) == (dt.date(2026, 9, 2), dt.date(2026, 11, 30))
    assert report.range.days == 90


@time_machine.travel(dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC), tick=False)
def test_presets_end_today_in_shanghai_even_before_midnight_utc(client, manager):
    client.force_login(manager)

    presets = client.get(URL).context["presets"]

    # 16:30 UTC on the 29th is 00:30 on the 30th in Shanghai.
    assert [(p["days"], p["range"].start, p["range"].end) for p in presets] == [
        (7, dt.date(2026, 11, 24), dt.date(2026, 11, 30)),
        (30, dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        (90, dt.date(2026, 9, 2), dt.date(2026, 11, 30)),
    ]


@time_machine.travel(dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC), tick=False)
def test_a_wrong_range_shows_the_message_and_runs_no_report(client, manager, django_assert_num_queries):
    client.force_login(manager)

    # The user, the manager check, the navbar's unread count (the session comes from the cache):
    # no report query.
    with django_assert_num_queries(3):
        response = client.get(URL, {"start": "2026-11-20", "end": "2026-11-10"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["report"] is None
    page = response.content.decode()
    assert "The end date must be on or after the start date." in page
    assert "Fix the dates above to see the report." in page
    assert 'aria-invalid="true"' in page


@time_machine.travel(dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC), tick=False)
def test_a_csv_file_for_a_wrong_range_is_refused_with_the_reason(client, manager):
    client.force_login(manager)

    response = client.get(
        URL,
        {"start": "nonsense", "end": "2026-11-10", "format": "csv", "table": "stages"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "Enter a date as year-month-day" in response.content.decode()


def test_an_unknown_table_is_not_found(client, manager):
    client.force_login(manager)

    assert client.get(URL, {"format": "csv", "table": "customers"}).status_code == 404
