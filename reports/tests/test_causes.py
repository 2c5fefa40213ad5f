"""Breaches by cause of delay: each breached stay counts under the cause the file had when the
stay ended — a cause staff gave, one the portal set itself, or none — read from the history."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications import services
from applications.models import Reason
from applications.tests.factories import in_review
from reports import selectors

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = reverse("reports:sla")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# Each file enters review on Monday 2 March 2026 at 09:00 and is due on Wednesday 4 March at 15:00.
ENTERED, LATE, ON_TIME = at(2026, 3, 2, 9), at(2026, 3, 5, 10), at(2026, 3, 3, 10)


@pytest.fixture
def book(customer, dealer, reviewer):
    """Four stays in review ended: three late (a cause staff gave, the backlog the clock recorded,
    none at all) and one on time with a cause (not a breach)."""
    with time_machine.travel(ENTERED, tick=False):
        given, backlog, on_time = (in_review(customer, dealer) for _ in range(3))
    third_party = Reason.objects.get(code="third_party_wait")
    for application in (given, on_time):
        services.delay_cause_set(application=application, reason=third_party, actor=reviewer, now=ON_TIME)
    with time_machine.travel(ON_TIME, tick=False):
        services.review_recommend(application=on_time, actor=reviewer)
    # The clock finds the backlog's file overdue in working hours with no cause, and records one.
    services.sla_advance(now=at(2026, 3, 4, 15, 30), batch=10)
    with time_machine.travel(LATE, tick=False):
        for application in (given, backlog):
            services.review_recommend(application=application, actor=reviewer)
    # Entered on Tuesday, due on Thursday at 15:00, ended at 16:00 before the clock looked again.
    with time_machine.travel(at(2026, 3, 3, 9), tick=False):
        unexplained = in_review(customer, dealer)
    with time_machine.travel(at(2026, 3, 5, 16), tick=False):
        services.review_recommend(application=unexplained, actor=reviewer)


def test_each_breach_counts_under_the_cause_recorded_when_the_stay_ended(book):
    rows = selectors.breaches_by_cause(selectors.DateRange(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    with_en = [(r.stage, r.cause, r.breached) for r in rows]
    assert sorted(with_en) == sorted(
        [("under_review", "third_party_wait", 1), ("under_review", "high_volume", 1), ("under_review", "", 1)]
    )
    assert rows[-1].cause == ""  # no cause recorded comes last in its stage
    assert {round(r.share, 3) for r in rows} == {0.333}


def test_the_report_page_and_its_csv_show_the_breaches_by_cause(client, manager, book):
    client.force_login(manager)
    query = {"start": "2026-03-01", "end": "2026-03-31"}
    page = client.get(URL, query, headers={"accept-language": "en"}).content.decode()
    assert "Breaches by cause of delay" in page
    assert "Waiting for the vehicle registration office" in page and "No cause recorded" in page

    response = client.get(
        URL, {**query, "format": "csv", "table": "causes"}, headers={"accept-language": "en"}
    )
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["Stage", "Cause of delay", "Breached", "Share of the stage's breaches (%)"]
    assert ["Under review", "We are handling more applications than usual", "1", "33.3"] in table
