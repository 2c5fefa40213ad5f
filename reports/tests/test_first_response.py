"""First response to customers' questions in the SLA report: median, p90 and breach share over the
questions asked in the range, on the page and in its CSV file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications import services
from applications.models import QuestionThread
from applications.tests.factories import make_draft
from reports import selectors
from reports.selectors import DateRange

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = reverse("reports:sla")
RANGE = {"start": "2026-03-02", "end": "2026-03-03"}


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# Tuesday 3 March 17:30: when the figures are read.
NOW = at(2026, 3, 3, 17, 30)


@pytest.fixture
def questions(customer, dealer, reviewer, settings):
    """With the 4-hour limit (09:00–18:00 working days): on Monday at 10:00 (due 14:00) four
    questions, answered after 1 h, 2 h and 5 h (late) and never (late by now); on Tuesday at 17:00
    (due Wednesday 12:00) one still within its time; on Sunday evening one outside the range."""
    settings.QUESTION_RESPONSE_HOURS = 4

    def asked(moment, answered_after=None):
        application = make_draft(customer=customer, dealer=dealer)
        application = services.application_submit(application=application, actor=customer, now=moment)
        services.question_ask(application=application, actor=customer, body="When?", now=moment)
        if answered_after is not None:
            services.question_answer(
                thread=QuestionThread.objects.get(application=application),
                actor=reviewer,
                body="Soon.",
                now=moment + answered_after,
            )

    hour = dt.timedelta(hours=1)
    for answered_after in (hour, 2 * hour, 5 * hour, None):
        asked(at(2026, 3, 2, 10), answered_after)
    asked(at(2026, 3, 3, 17))
    asked(at(2026, 3, 1, 20), 13 * hour)


def test_the_figures_on_known_questions(questions):
    figures = selectors.first_response(DateRange(dt.date(2026, 3, 2), dt.date(2026, 3, 3)), now=NOW)
    assert (figures.asked, figures.answered, figures.waiting) == (5, 3, 2)
    assert figures.median_seconds == 2 * 3600
    # p90 of 1 h, 2 h, 5 h: position 0.9 × 2 = 1.8, between 2 h and 5 h: 2 h + 0.8 × 3 h = 4.4 h.
    assert figures.p90_seconds == pytest.approx(4.4 * 3600)
    # Late: the 5-hour answer and the unanswered one; Tuesday's is not due yet and counts in neither.
    assert (figures.breached, figures.decided, figures.breach_share) == (2, 4, 0.5)


def test_the_report_shows_them_and_the_csv_has_them(client, manager, questions, settings):
    settings.REPORT_CACHE_SECONDS = 0
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(NOW, tick=False):
        page = client.get(URL, RANGE)
        response = client.get(URL, {**RANGE, "format": "csv", "table": "questions"})
    assert page.status_code == 200
    shown = page.context["report"].first_response
    assert (shown.asked, shown.breached, shown.decided) == (5, 2, 4)
    assert "First response to customers' questions" in page.content.decode()
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Questions asked"
    asked, answered, median, p90, breached, decided, share = rows[1]
    assert (asked, answered, median, p90) == ("5", "3", "2.00", "4.40")
    assert (breached, decided) == ("2", "4")
    assert share == "50.0"


def test_a_range_without_questions_says_so(client, manager, settings):
    settings.REPORT_CACHE_SECONDS = 0
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(URL, RANGE)
    assert "No customer asked a question in this range." in page.content.decode()
