"""Expected completion: the median of recent stays in a stage (for the application's product, else
for the stage), the SLA when history is thin. The stays here go through the services; the
prediction's own tests (``test_prediction``) use larger synthetic histories."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import translation

from applications import eta, prediction, services
from applications.choices import EventKind, Stage
from applications.models import LoanApplication, LoanProduct
from applications.prediction import DurationTable, Prediction, StayStats
from applications.sla import Calendar, add_working_time
from applications.templatetags.timeline import about, expected_text, short_when

from .factories import make_draft

pytestmark = pytest.mark.django_db

# A Tuesday morning in Shanghai (01:00 UTC = 09:00 CST).
NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
# The Tuesday before, 09:00 in Shanghai: an ordinary week whose stays are measured in working time.
WEEK_AGO = NOW - dt.timedelta(days=7)
# Tuesday 13:00 in Shanghai: "now" for the expected completion, in the middle of a working day.
LATER = NOW + 4 * HOUR
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


def working(start: dt.datetime, hours: float) -> dt.datetime:
    """``hours`` of working time after ``start``, on the calendar migration 0008 seeds (9:00–18:00;
    no holiday in late November 2026)."""
    return add_working_time(start, hours * HOUR, Calendar())


def standard() -> int:
    return LoanProduct.objects.get(code="standard").pk


def typical(stage=Stage.UNDER_REVIEW, *, sla=REVIEW_SLA) -> Prediction | None:
    return prediction.stage_prediction(stage, product_id=standard(), sla=sla, now=NOW)


def test_median_of_recent_stays_once_there_are_twenty(customer, dealer, reviewer):
    for hours in range(1, 22):  # 21 stays of 1 … 21 working hours
        review_stay(customer, dealer, reviewer, entered=WEEK_AGO, left=working(WEEK_AGO, hours))

    # The p80 sits at position (21 - 1) · 0.8 = 16 of the sorted stays: the 17-hour one.
    assert typical() == Prediction(median=11 * HOUR, p80=17 * HOUR, source="product", samples=21)


def test_an_even_number_of_stays_takes_the_mean_of_the_middle_two(customer, dealer, reviewer):
    for hours in range(1, 21):  # 20 stays: the middle two are 10 and 11 working hours
        review_stay(customer, dealer, reviewer, entered=WEEK_AGO, left=working(WEEK_AGO, hours))

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
    start = WEEK_AGO  # 09:00: the stays below are within one working day
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
    # Every stage and product in three queries: the stays with their entry times, and the working
    # calendar's hours and days they are measured on.
    with django_assert_num_queries(3):
        prediction.stage_prediction(Stage.UNDER_REVIEW, product_id=product, sla=REVIEW_SLA, now=NOW)
    with django_assert_num_queries(0):
        again = prediction.stage_prediction(Stage.UNDER_REVIEW, product_id=product, sla=REVIEW_SLA, now=NOW)
    assert again.samples == 1
    assert prediction.CACHE_SECONDS <= 600


# --- One application's expected completion ------------------------------------------------------


def history(*, median: dt.timedelta, samples: int, calendar: Calendar | None = None) -> DurationTable:
    """The prediction's figures for credit review across all products, as if read from the history."""
    return DurationTable(
        by_stage={Stage.UNDER_REVIEW: StayStats(samples, median, median + 3 * HOUR)},
        calendar=calendar or Calendar(),
    )


def expect(
    entered: dt.datetime,
    *,
    table: DurationTable,
    due_at: dt.datetime | None = None,
    product_id: int = 1,
    now: dt.datetime = LATER,
):
    return eta.expected_completion(
        stage=Stage.UNDER_REVIEW,
        product_id=product_id,
        entered_at=entered,
        due_at=entered + REVIEW_SLA if due_at is None else due_at,
        sla=REVIEW_SLA,
        now=now,
        table=table,
    )


def test_expected_completion_is_entry_plus_the_median():
    table = history(median=6 * HOUR, samples=40)
    entered = LATER - 2 * HOUR  # 11:00: six working hours later is 17:00 the same day

    expectation = expect(entered, table=table)

    assert expectation.expected_at == entered + 6 * HOUR
    assert expectation.remaining == 4 * HOUR
    assert expectation.prediction.source == "stage"


def test_the_products_own_median_comes_before_the_stages():
    table = DurationTable(
        by_stage={Stage.UNDER_REVIEW: StayStats(60, 6 * HOUR, 9 * HOUR)},
        by_product={(Stage.UNDER_REVIEW, 7): StayStats(20, 90 * MINUTE, 3 * HOUR)},
    )
    entered = LATER - HOUR

    own = expect(entered, table=table, product_id=7)
    other = expect(entered, table=table, product_id=8)

    assert (own.expected_at, own.prediction.source) == (entered + 90 * MINUTE, "product")
    assert (other.expected_at, other.prediction.source) == (entered + 6 * HOUR, "stage")


def test_with_thin_history_the_stored_due_time_is_the_answer():
    table = history(median=6 * HOUR, samples=3)
    entered = LATER - 2 * HOUR
    due = entered + 40 * HOUR  # 24 working hours, counted over a night and a weekend

    expectation = expect(entered, table=table, due_at=due)

    assert expectation.expected_at == due
    assert expectation.prediction.source == "sla"


def test_past_the_typical_time_the_time_limit_is_the_answer():
    table = history(median=6 * HOUR, samples=40)
    entered = NOW - 24 * HOUR  # Monday 09:00: six working hours later was Monday 15:00
    due = working(entered, 24)  # Wednesday 15:00

    expectation = expect(entered, table=table, due_at=due)

    assert expectation.expected_at == due
    assert expectation.remaining == 26 * HOUR


def test_past_the_time_limit_there_is_no_estimate_but_the_stage_is_overdue():
    table = history(median=6 * HOUR, samples=40)
    entered = LATER - 30 * HOUR
    due = entered + REVIEW_SLA

    assert expect(entered, table=table, due_at=due) is None
    assert eta.is_overdue(stage=Stage.UNDER_REVIEW, due_at=due, now=LATER)


# --- On the working calendar (a synthetic one: the week of Friday 4 December 2026) ------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def cst(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of December 2026 in Shanghai."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_a_friday_evening_entry_is_expected_on_monday_in_working_hours():
    table = history(median=2 * HOUR, samples=40)

    expectation = expect(cst(4, 17), table=table, now=cst(4, 17, 30))

    assert expectation.expected_at == cst(7, 10)  # an hour on Friday, an hour on Monday
    assert expectation.remaining == dt.timedelta(hours=64, minutes=30)


def test_a_holiday_week_is_skipped():
    holidays = {dt.date(2026, 12, day): False for day in range(7, 12)}  # Monday 7 … Friday 11
    table = history(median=2 * HOUR, samples=40, calendar=Calendar(overrides=holidays))

    expectation = expect(cst(4, 17), table=table, now=cst(4, 17, 30))

    assert expectation.expected_at == cst(14, 10)


def test_a_make_up_saturday_is_counted():
    table = history(median=2 * HOUR, samples=40, calendar=Calendar(overrides={dt.date(2026, 12, 5): True}))

    expectation = expect(cst(4, 17), table=table, now=cst(4, 17, 30))

    assert expectation.expected_at == cst(5, 10)  # Saturday 5 December is worked


def test_a_saturday_that_is_not_worked_is_never_promised():
    table = history(median=2 * HOUR, samples=40)

    for minute in range(0, 60 * 24, 37):  # any entry on a Saturday: the estimate is on Monday
        entered = cst(5, 0) + minute * MINUTE
        expectation = expect(entered, table=table, now=entered)
        assert expectation.expected_at == cst(7, 11)


# --- The expected disbursement: the usual path, each stage on its own clock ------------------------


def test_the_usual_path_follows_the_state_machines_forward_transitions():
    field = LoanApplication._meta.get_field("stage")
    edges = {(t.source, t.target) for t in field.get_all_transitions(LoanApplication)}

    for source, target in zip(eta.USUAL_PATH, eta.USUAL_PATH[1:], strict=False):
        assert (source, target) in edges


def path_table(calendar: Calendar | None = None, *, samples: int = 40) -> DurationTable:
    """Typical stays after credit review: approval 3 h, the offer 30 h (the customer's time, on the
    clock), contract 4 h, lien 5 h, disbursement 1 h; review itself 2 h."""
    medians = {
        Stage.UNDER_REVIEW: 2,
        Stage.APPROVAL: 3,
        Stage.OFFER_PENDING: 30,
        Stage.CONTRACT_SIGNING: 4,
        Stage.LIEN_REGISTRATION: 5,
        Stage.DISBURSEMENT: 1,
    }
    return DurationTable(
        by_stage={stage: StayStats(samples, hours * HOUR, hours * HOUR) for stage, hours in medians.items()},
        calendar=calendar or Calendar(),
    )


SLAS = {
    Stage.UNDER_REVIEW: REVIEW_SLA,
    Stage.APPROVAL: 8 * HOUR,
    Stage.OFFER_PENDING: dt.timedelta(days=7),
    Stage.CONTRACT_SIGNING: 16 * HOUR,
    Stage.LIEN_REGISTRATION: 16 * HOUR,
    Stage.DISBURSEMENT: 8 * HOUR,
}


def disbursement(stage: str, *, table: DurationTable, now: dt.datetime, entered: dt.datetime | None = None):
    current = None
    if entered is not None:
        current = eta.expected_completion(
            stage=stage, product_id=1, entered_at=entered, due_at=None, sla=SLAS[stage], now=now, table=table
        )
    return eta.expected_disbursement(
        stage=stage, product_id=1, current=current, slas=SLAS, now=now, table=table
    )


def test_the_expected_disbursement_adds_the_remaining_stages_each_on_its_own_clock():
    # Review entered Friday 4 December 17:00, 2 working hours: Monday 10:00. Approval 3: 13:00.
    # The offer, 30 hours of the customer's time on the clock: Tuesday 19:00. Contract 4 working
    # hours: Wednesday 13:00; lien 5: Wednesday 18:00; disbursement 1: Thursday 10:00.
    result = disbursement(Stage.UNDER_REVIEW, table=path_table(), now=cst(4, 17, 30), entered=cst(4, 17))

    assert result == eta.Disbursement(
        expected_at=cst(10, 10), from_history=True, if_customer_acts_today=False
    )


def test_waiting_on_the_customer_counts_from_now_as_if_they_act_today():
    table = path_table()

    # The offer accepted on Monday 7 December at 16:00: contract 4 h (Tuesday 11:00), lien 5 h
    # (16:00), disbursement 1 h (17:00).
    offer = disbursement(Stage.OFFER_PENDING, table=table, now=cst(7, 16))
    # Documents uploaded on Monday at 16:00: review again (2 h: Monday 18:00), approval (Tuesday
    # 12:00), the offer (30 h: Wednesday 18:00), contract (Thursday 13:00), lien (18:00),
    # disbursement (Friday 10:00).
    documents = disbursement(Stage.AWAITING_DOCUMENTS, table=table, now=cst(7, 16))

    assert offer == eta.Disbursement(expected_at=cst(8, 17), from_history=True, if_customer_acts_today=True)
    assert documents.if_customer_acts_today
    assert documents.expected_at == cst(11, 10)


def test_a_stage_with_too_few_stays_counts_its_time_limit_and_says_so():
    table = path_table()
    thin = dataclasses.replace(
        table, by_stage={**table.by_stage, Stage.LIEN_REGISTRATION: StayStats(19, HOUR, HOUR)}
    )

    rich = disbursement(Stage.OFFER_PENDING, table=table, now=cst(7, 16))
    poor = disbursement(Stage.OFFER_PENDING, table=thin, now=cst(7, 16))

    assert rich.from_history and not poor.from_history
    # Lien registration counts its 16 working hours, not the 1 hour of its few stays: contract
    # Tuesday 11:00, lien Wednesday 18:00, disbursement Thursday 10:00.
    assert poor.expected_at == cst(10, 10)


@pytest.mark.parametrize("stage", [Stage.DRAFT, Stage.DISBURSED, Stage.REJECTED])
def test_drafts_and_closed_files_have_no_expected_disbursement(stage):
    assert disbursement(stage, table=path_table(), now=NOW) is None


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
