"""Expected completion: the median of recent stays in a stage (for the application's product, else
for the stage), the SLA when history is thin. The stays here go through the services; the
prediction's own tests (``test_prediction``) use larger synthetic histories."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import translation

from applications import eta, prediction, services
from applications.choices import EventKind, Stage
from applications.models import LoanProduct
from applications.prediction import DurationTable, Prediction, StayStats
from applications.templatetags.timeline import about, expected_text, short_when

from .factories import make_draft

pytestmark = pytest.mark.django_db

# A Tuesday morning in Shanghai (01:00 UTC = 09:00 CST).
NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
REVIEW_SLA = dt.timedelta(hours=24)  # under_review's default time limit (migration 0002)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def review_stay(customer, dealer, reviewer, *, entered: dt.datetime, left: dt.datetime | None):
    """An application that entered credit review at ``entered`` and left it for approval at ``left``
    (or is still there), through the services with their ``now=``."""
    app = make_draft(customer=customer, dealer=dealer, documents=True)  # the "standard" product
    app = services.application_submit(application=app, actor=customer, now=entered)
    app = services.precheck_start(application=app, now=entered)
    app = services.precheck_pass(application=app, now=entered)
    if left is not None:
        app = services.review_recommend(application=app, actor=reviewer, now=left)
    return app


def standard() -> int:
    return LoanProduct.objects.get(code="standard").pk


def typical(stage=Stage.UNDER_REVIEW, *, sla=REVIEW_SLA) -> Prediction | None:
    return prediction.stage_prediction(stage, product_id=standard(), sla=sla, now=NOW)


def test_median_of_recent_stays_once_there_are_twenty(customer, dealer, reviewer):
    for hours in range(1, 22):  # 21 stays of 1 … 21 hours
        review_stay(customer, dealer, reviewer, entered=NOW - 30 * HOUR, left=NOW - 30 * HOUR + hours * HOUR)

    # The p80 sits at position (21 - 1) · 0.8 = 16 of the sorted stays: the 17-hour one.
    assert typical() == Prediction(median=11 * HOUR, p80=17 * HOUR, source="product", samples=21)


def test_an_even_number_of_stays_takes_the_mean_of_the_middle_two(customer, dealer, reviewer):
    for hours in range(1, 21):  # 20 stays: the middle two are 10 and 11 hours
        review_stay(customer, dealer, reviewer, entered=NOW - 30 * HOUR, left=NOW - 30 * HOUR + hours * HOUR)

    result = typical()

    assert result.median == dt.timedelta(hours=10, minutes=30)
    assert result.source == "product"


def test_fewer_than_twenty_stays_fall_back_to_the_sla(customer, dealer, reviewer):
    for _ in range(19):
        review_stay(customer, dealer, reviewer, entered=NOW - 10 * HOUR, left=NOW - 8 * HOUR)

    assert typical() == Prediction(median=REVIEW_SLA, p80=REVIEW_SLA, source="sla", samples=19)


def test_stays_that_ended_more_than_ninety_days_ago_do_not_count(customer, dealer, reviewer):
    old = NOW - dt.timedelta(days=91)
    for _ in range(20):
        review_stay(customer, dealer, reviewer, entered=old - 2 * HOUR, left=old)
    for _ in range(3):
        review_stay(customer, dealer, reviewer, entered=NOW - 5 * HOUR, left=NOW - HOUR)

    result = typical()

    assert result.source == "sla"
    assert result.samples == 3


def test_stays_still_running_do_not_count(customer, dealer, reviewer):
    for _ in range(25):
        review_stay(customer, dealer, reviewer, entered=NOW - 50 * HOUR, left=None)

    assert typical().samples == 0


def test_a_second_stay_is_measured_from_the_latest_entry_and_documents_do_not_split_it(
    customer, dealer, reviewer, approver, monkeypatch
):
    monkeypatch.setattr(prediction, "MIN_SAMPLES", 2)
    start = NOW - 10 * HOUR
    app = review_stay(customer, dealer, reviewer, entered=start, left=start + 2 * HOUR)  # 2 h
    app = services.approval_return(application=app, actor=approver, now=start + 3 * HOUR)
    services.application_event_add(
        application=app, kind=EventKind.DOCUMENT, data={"action": "uploaded"}, now=start + 4 * HOUR
    )
    services.review_recommend(application=app, actor=reviewer, now=start + 9 * HOUR)  # 6 h

    # Stays of 2 h and 6 h: median 4 h, p80 2 h + 0.8 · 4 h.
    assert typical() == Prediction(
        median=4 * HOUR, p80=dt.timedelta(hours=5, minutes=12), source="product", samples=2
    )


def test_no_history_and_no_sla_promises_nothing():
    assert typical(Stage.DISBURSED, sla=None) is None


def test_the_median_is_cached_for_a_few_minutes(customer, dealer, reviewer, django_assert_num_queries):
    product = standard()
    review_stay(customer, dealer, reviewer, entered=NOW - 5 * HOUR, left=NOW - HOUR)
    # Every stage and product in one query (the stays with their entry times, quantiles in SQL).
    with django_assert_num_queries(1):
        prediction.stage_prediction(Stage.UNDER_REVIEW, product_id=product, sla=REVIEW_SLA, now=NOW)
    with django_assert_num_queries(0):
        again = prediction.stage_prediction(Stage.UNDER_REVIEW, product_id=product, sla=REVIEW_SLA, now=NOW)
    assert again.samples == 1
    assert prediction.CACHE_SECONDS <= 600


# --- One application's expected completion ------------------------------------------------------


def history(monkeypatch, *, median: dt.timedelta, samples: int):
    """The prediction's figures for credit review across all products, as if read from the history."""
    table = DurationTable(by_stage={Stage.UNDER_REVIEW: StayStats(samples, median, median + 3 * HOUR)})
    monkeypatch.setattr(prediction, "duration_table", lambda now=None: table)


def expect(entered: dt.datetime, *, due_at: dt.datetime | None = None, product_id: int = 1):
    return eta.expected_completion(
        stage=Stage.UNDER_REVIEW,
        product_id=product_id,
        entered_at=entered,
        due_at=entered + REVIEW_SLA if due_at is None else due_at,
        sla=REVIEW_SLA,
        now=NOW,
    )


def test_expected_completion_is_entry_plus_the_median(monkeypatch):
    history(monkeypatch, median=6 * HOUR, samples=40)
    entered = NOW - 2 * HOUR

    expectation = expect(entered)

    assert expectation.expected_at == entered + 6 * HOUR
    assert expectation.remaining == 4 * HOUR
    assert expectation.prediction.source == "stage"


def test_the_products_own_median_comes_before_the_stages(monkeypatch):
    table = DurationTable(
        by_stage={Stage.UNDER_REVIEW: StayStats(60, 6 * HOUR, 9 * HOUR)},
        by_product={(Stage.UNDER_REVIEW, 7): StayStats(20, 90 * MINUTE, 3 * HOUR)},
    )
    monkeypatch.setattr(prediction, "duration_table", lambda now=None: table)
    entered = NOW - HOUR

    own = expect(entered, product_id=7)
    other = expect(entered, product_id=8)

    assert (own.expected_at, own.prediction.source) == (entered + 90 * MINUTE, "product")
    assert (other.expected_at, other.prediction.source) == (entered + 6 * HOUR, "stage")


def test_with_thin_history_the_stored_due_time_is_the_answer(monkeypatch):
    history(monkeypatch, median=6 * HOUR, samples=3)
    entered = NOW - 2 * HOUR
    due = entered + 40 * HOUR  # 24 working hours, counted over a night and a weekend

    expectation = expect(entered, due_at=due)

    assert expectation.expected_at == due
    assert expectation.prediction.source == "sla"


def test_past_the_typical_time_the_time_limit_is_the_answer(monkeypatch):
    history(monkeypatch, median=6 * HOUR, samples=40)
    entered = NOW - 10 * HOUR

    expectation = expect(entered)

    assert expectation.expected_at == entered + REVIEW_SLA
    assert expectation.remaining == 14 * HOUR


def test_past_the_time_limit_there_is_no_estimate_but_the_stage_is_overdue(monkeypatch):
    history(monkeypatch, median=6 * HOUR, samples=40)
    entered = NOW - 30 * HOUR
    due = entered + REVIEW_SLA

    assert expect(entered, due_at=due) is None
    assert eta.is_overdue(stage=Stage.UNDER_REVIEW, due_at=due, now=NOW)


@pytest.mark.parametrize("stage", [Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING, Stage.REJECTED])
def test_customer_and_final_stages_get_no_prediction(stage):
    assert (
        eta.expected_completion(
            stage=stage, product_id=1, entered_at=NOW - HOUR, due_at=NOW + HOUR, sla=REVIEW_SLA, now=NOW
        )
        is None
    )


# --- How it reads -------------------------------------------------------------------------------


def test_the_expected_time_reads_as_weekday_time_and_about_n_hours():
    expected_at = NOW + 5 * HOUR  # Tuesday 14:00 in Shanghai
    with translation.override("en"):
        assert expected_text(expected_at, 5 * HOUR, now=NOW) == "Expected by Tue 14:00, about 5 hours"


def test_a_time_beyond_the_coming_week_names_the_date():
    with translation.override("en"):
        assert short_when(NOW + dt.timedelta(days=8), now=NOW) == "Wed 9 Dec 09:00"


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (dt.timedelta(minutes=3), "5 minutes"),
        (dt.timedelta(minutes=41), "45 minutes"),
        (dt.timedelta(minutes=58), "1 hour"),
        (dt.timedelta(hours=6, minutes=20), "6 hours"),
        (dt.timedelta(hours=47), "47 hours"),
        (dt.timedelta(hours=60), "3 days"),
    ],
)
def test_durations_are_rounded_to_what_a_person_would_say(duration, words):
    with translation.override("en"):
        assert about(duration) == words


def test_times_stored_in_utc_are_shown_in_shanghai():
    assert NOW.tzinfo is dt.UTC and NOW.hour == 1
    with translation.override("en"):
        assert short_when(NOW, now=NOW) == "Tue 09:00"
