"""The delay prediction on synthetic histories with a known distribution: quantiles as
``percentile_cont`` computes them, the product → stage → SLA fallback, the 90-day window, staff
stages measured in working time on a synthetic calendar, the cache, and the "likely to breach"
rule."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection

from applications import prediction
from applications.choices import Stage
from applications.models import CalendarDay, LoanApplication, LoanProduct, StageEvent
from applications.prediction import Prediction, StayStats
from applications.sla import Calendar, add_working_time, working_time_between

from .factories import make_draft, record_stays

pytestmark = pytest.mark.django_db

# A Tuesday morning in Shanghai (01:00 UTC = 09:00 CST).
NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
REVIEW = Stage.UNDER_REVIEW
# The quantiles are tested on the automatic pre-check, which runs day and night: a stay of n hours
# counts n hours. Staff stages count working time (``test_staff_stages_count_working_time_*``).
STAGE = Stage.CREDIT_CHECK
REVIEW_SLA = dt.timedelta(hours=24)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def products():
    return {p.code: p.pk for p in LoanProduct.objects.all()}


@pytest.fixture
def stays(customer, dealer):
    """``stays([1, 2, 3], product_code=…)``: stays of 1, 2 and 3 hours in the pre-check, ended an
    hour before NOW (or at ``left_at``)."""

    def make(hours, *, stage=STAGE, product_code="standard", left_at=NOW - HOUR):
        return record_stays(
            customer=customer,
            dealer=dealer,
            stage=stage,
            durations=[h * HOUR for h in hours],
            left_at=left_at,
            product_code=product_code,
        )

    return make


def predict(stage, product_id, *, sla=REVIEW_SLA, now=NOW) -> Prediction | None:
    return prediction.stage_prediction(stage, product_id=product_id, sla=sla, now=now)


# --- Quantiles ----------------------------------------------------------------------------------


def test_one_to_a_hundred_hours_give_a_median_of_50_5_and_a_p80_of_80_2(stays, products):
    # Positions (n - 1)·q = 49.5 and 79.2 between sorted stays 1 … 100 h: 50 + 0.5 · 1 h and
    # 80 + 0.2 · 1 h. Shuffled, so the order in the history plays no part.
    stays([37, 100, 1, *range(2, 37), *range(38, 100)])

    assert predict(STAGE, products["standard"]) == Prediction(
        median=dt.timedelta(hours=50, minutes=30),
        p80=dt.timedelta(hours=80, minutes=12),
        source="product",
        samples=100,
    )


def test_quantiles_interpolate_between_the_two_nearest_stays(stays, products):
    # 10 stays of 1 h, 10 of 3 h: the median sits at position 9.5, half way between the last 1 h
    # and the first 3 h; the p80 at position 15.2, among the 3 h stays.
    stays([1] * 10 + [3] * 10)

    result = predict(STAGE, products["standard"])

    assert (result.median, result.p80) == (2 * HOUR, 3 * HOUR)


def test_the_table_holds_every_stage_per_product_and_across_products(stays, products):
    stays(range(1, 21))  # pre-check, standard: 1 … 20 h
    stays([4] * 20, product_code="green_nev")  # pre-check, green: 4 h each
    stays([2, 4], stage=Stage.SUBMITTED)  # submitted: two stays

    table = prediction.duration_table(now=NOW)

    assert table.by_product[(STAGE, products["standard"])] == StayStats(
        20, dt.timedelta(hours=10, minutes=30), dt.timedelta(hours=16, minutes=12)
    )
    assert table.by_product[(STAGE, products["green_nev"])] == StayStats(20, 4 * HOUR, 4 * HOUR)
    # Across products: 40 stays, 1 … 20 h and twenty of 4 h; positions 19.5 and 31.2.
    assert table.by_stage[STAGE] == StayStats(40, dt.timedelta(hours=4), dt.timedelta(hours=12, minutes=12))
    assert table.by_stage[Stage.SUBMITTED] == StayStats(2, 3 * HOUR, dt.timedelta(hours=3, minutes=36))


# --- Fallback -----------------------------------------------------------------------------------


def test_a_product_with_twenty_stays_gets_its_own_figures(stays, products):
    stays([2] * 20)
    stays([8] * 20, product_code="green_nev")

    assert predict(STAGE, products["standard"]).median == 2 * HOUR
    assert predict(STAGE, products["green_nev"]).median == 8 * HOUR


def test_a_product_with_fewer_than_twenty_falls_back_to_the_stage_across_products(stays, products):
    stays([2] * 20)
    stays([10] * 19, product_code="green_nev")

    green = predict(STAGE, products["green_nev"])

    # 39 stays: the median at position 19 is the last 2 h stay; the p80 at 30.4 among the 10 h.
    assert green == Prediction(median=2 * HOUR, p80=10 * HOUR, source="stage", samples=39)
    assert predict(STAGE, products["standard"]).source == "product"
    assert predict(STAGE, None).source == "stage"  # no product on file: the stage's figures


def test_with_fewer_than_twenty_for_the_stage_the_sla_stands_in(stays, products):
    stays([2] * 10)
    stays([3] * 9, product_code="green_nev")

    assert predict(STAGE, products["standard"]) == Prediction(
        median=REVIEW_SLA, p80=REVIEW_SLA, source="sla", samples=19
    )
    assert predict(STAGE, products["standard"], sla=None) is None


# --- Which stays count --------------------------------------------------------------------------


def test_stays_that_ended_exactly_ninety_days_ago_count_and_a_moment_earlier_do_not(stays, products):
    boundary = NOW - prediction.WINDOW
    stays([5] * 20, left_at=boundary)
    stays([7], left_at=boundary - dt.timedelta(microseconds=1))

    with time_machine.travel(NOW, tick=False):
        at_now = predict(STAGE, products["standard"], now=None)
    cache.clear()
    with time_machine.travel(NOW + dt.timedelta(microseconds=1), tick=False):
        a_moment_later = predict(STAGE, products["standard"], now=None)

    assert at_now == Prediction(median=5 * HOUR, p80=5 * HOUR, source="product", samples=20)
    assert a_moment_later.source == "sla" and a_moment_later.samples == 0


def test_stays_ending_after_now_do_not_count(stays, products):
    stays([5] * 20, left_at=NOW + HOUR)  # a history seen from the past: not there yet

    assert predict(STAGE, products["standard"]).samples == 0


def test_a_busy_stage_counts_only_its_latest_stays(stays, products, monkeypatch):
    monkeypatch.setattr(prediction, "MAX_STAYS_PER_STAGE", 5)
    stays([9] * 5, left_at=NOW - dt.timedelta(days=2))  # older: beyond the latest five
    stays([1, 2, 3, 4, 5], left_at=NOW - HOUR)
    stays([7] * 3, stage=Stage.SUBMITTED)  # each stage has its own five

    table = prediction.duration_table(now=NOW)

    assert table.by_stage[STAGE] == StayStats(5, 3 * HOUR, dt.timedelta(hours=4, minutes=12))
    assert table.by_stage[Stage.SUBMITTED].samples == 3


def test_no_figures_for_drafts_the_documents_owed_or_final_stages(stays):
    for stage in (Stage.DRAFT, Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING):
        stays([1] * 20, stage=stage)

    # The offer is on the way to disbursement: how long customers take to accept it counts there.
    assert set(prediction.duration_table(now=NOW).by_stage) == {Stage.OFFER_PENDING}


# --- Working time -------------------------------------------------------------------------------

# Shanghai wall-clock times of a synthetic week around NOW (Tuesday 1 December 2026).
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def cst(day: int, hour: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def review_stays(customer, dealer, *, entered: dt.datetime, left: dt.datetime, count: int = 20):
    record_stays(
        customer=customer, dealer=dealer, stage=REVIEW, durations=[left - entered] * count, left_at=left
    )


def test_staff_stages_count_working_time_a_friday_evening_to_monday_is_two_hours(customer, dealer, products):
    # Friday 27 November 17:00 → Monday 30 November 10:00: one hour on Friday, one on Monday.
    review_stays(customer, dealer, entered=cst(27, 17), left=cst(30, 10))

    assert predict(REVIEW, products["standard"]).median == 2 * HOUR


def test_staff_stages_count_working_time_a_holiday_week_is_skipped(customer, dealer, products):
    for day in range(23, 28):  # Monday 23 … Friday 27 November: a synthetic holiday week
        CalendarDay.objects.create(date=dt.date(2026, 11, day), is_working=False, note="test holiday")
    # Friday 20 November 17:00 → Monday 30 November 10:00: still two working hours.
    review_stays(customer, dealer, entered=cst(20, 17), left=cst(30, 10))

    assert predict(REVIEW, products["standard"]).median == 2 * HOUR


def test_staff_stages_count_working_time_a_make_up_saturday_counts(customer, dealer, products):
    CalendarDay.objects.create(date=dt.date(2026, 11, 28), is_working=True, note="调休 test")
    # Friday 17:00 → Monday 10:00 with Saturday worked: 1 + 9 + 1 hours.
    review_stays(customer, dealer, entered=cst(27, 17), left=cst(30, 10))

    assert predict(REVIEW, products["standard"]).median == 11 * HOUR


def test_automatic_steps_count_wall_clock_time(stays, products):
    stays([65] * 20, left_at=cst(30, 10))  # the pre-check, over a weekend: every hour counts

    assert predict(STAGE, products["standard"]).median == 65 * HOUR


def test_working_time_between_is_the_inverse_of_adding_working_time():
    calendar = Calendar(overrides={dt.date(2026, 11, 28): True, dt.date(2026, 11, 30): False})
    start = cst(27, 16)
    for hours in (0.5, 2, 3, 11, 12, 30):
        end = add_working_time(start, hours * HOUR, calendar)
        assert working_time_between(start, end, calendar) == hours * HOUR
    assert working_time_between(cst(28, 20), cst(30, 23), calendar) == dt.timedelta(0)  # night, holiday
    assert working_time_between(cst(30, 10), cst(27, 10), calendar) == dt.timedelta(0)


# --- Cost ---------------------------------------------------------------------------------------


def test_the_whole_table_is_three_queries_and_none_while_cached(stays, products, django_assert_num_queries):
    stays([1, 2, 3])
    stays([4, 5], stage=Stage.SUBMITTED, product_code="green_nev")

    # The latest stays of every stage (bounded per stage), the calendar's hours and its days.
    with django_assert_num_queries(3):
        table = prediction.duration_table(now=NOW)
    with django_assert_num_queries(0):
        again = prediction.duration_table(now=NOW)
        predict(STAGE, products["standard"])
        predict(Stage.SUBMITTED, products["green_nev"])

    assert again == table
    assert set(table.by_stage) == {STAGE, Stage.SUBMITTED}
    assert prediction.CACHE_SECONDS <= 600


def test_the_table_keeps_the_calendar_the_expected_dates_are_placed_on():
    CalendarDay.objects.create(date=dt.date(2026, 12, 12), is_working=True, note="调休 test")

    table = prediction.duration_table(now=NOW)

    assert table.calendar.is_working_day(dt.date(2026, 12, 12))  # a Saturday, worked
    assert not table.calendar.is_working_day(dt.date(2026, 12, 13))


# --- Likely to breach ---------------------------------------------------------------------------


def in_review(*, due_in: dt.timedelta, product: str = "standard", customer, dealer):
    """An open file in credit review with ``due_in`` left of its 24 working hours. Placed there by
    an UPDATE: the rule reads only these columns."""
    application = make_draft(customer=customer, dealer=dealer, product_code=product)
    due = NOW + due_in
    LoanApplication.objects.filter(pk=application.pk).update(
        stage=REVIEW, stage_entered_at=due - 3 * REVIEW_SLA, stage_due_at=due
    )
    return application


def likely(table) -> set[int]:
    queryset = prediction.annotate_likely_to_breach(LoanApplication.objects.all(), now=NOW, table=table)
    marked = {a.pk for a in queryset if a.likely_to_breach}
    filtered = set(
        prediction.filter_likely_to_breach(LoanApplication.objects.all(), now=NOW, table=table).values_list(
            "pk", flat=True
        )
    )
    assert marked == filtered  # the column and the filter say the same
    return marked


def test_likely_to_breach_when_the_p80_in_working_time_is_longer_than_the_stages_limit(
    customer, dealer, products
):
    # Review's limit is 24 working hours; its due time is entry plus those on the same calendar
    # the stays are measured on, so entry + p80 > due exactly when p80 > 24 h.
    make = {"customer": customer, "dealer": dealer}
    standard = in_review(due_in=HOUR, **make)
    breached = in_review(due_in=-HOUR, **make)  # already past due: breached, not "likely"
    green = in_review(due_in=HOUR, product="green_nev", **make)
    own_slow = prediction.DurationTable(
        by_stage={REVIEW: StayStats(40, 5 * HOUR, 23 * HOUR)},
        by_product={(REVIEW, products["standard"]): StayStats(20, 5 * HOUR, 25 * HOUR)},
    )
    stage_slow = prediction.DurationTable(
        by_stage={REVIEW: StayStats(40, 5 * HOUR, 30 * HOUR)},
        by_product={(REVIEW, products["standard"]): StayStats(20, 5 * HOUR, 24 * HOUR)},
    )

    assert likely(own_slow) == {standard.pk}  # green is judged by the stage's p80: 23 h
    assert likely(stage_slow) == {green.pk}  # standard's own p80 is the limit itself: not late
    assert breached.pk not in likely(own_slow) | likely(stage_slow)


def test_no_marker_without_history_nor_outside_staff_stages(customer, dealer, products):
    make = {"customer": customer, "dealer": dealer}
    short = in_review(due_in=HOUR, **make)
    thin = prediction.DurationTable(by_stage={REVIEW: StayStats(19, 5 * HOUR, 30 * HOUR)})
    assert likely(thin) == set()  # the SLA stands in: no evidence either way
    assert likely(prediction.DurationTable()) == set()

    table = prediction.DurationTable(
        by_stage={
            REVIEW: StayStats(40, 5 * HOUR, 30 * HOUR),
            Stage.AWAITING_DOCUMENTS: StayStats(40, 50 * HOUR, 90 * HOUR),
        }
    )
    LoanApplication.objects.filter(pk=short.pk).update(stage=Stage.AWAITING_DOCUMENTS)
    assert likely(table) == set()  # waiting on the customer: their deadline, not a staff SLA


def test_likely_to_breach_reads_the_working_time_figures_from_history(customer, dealer, products):
    late = in_review(due_in=HOUR, customer=customer, dealer=dealer)
    # Twenty reviews from Monday 23 November 09:00 to Thursday 12:00: 9 + 9 + 9 + 3 = 30 working
    # hours, more than the 24 review is given (in wall-clock time they took 75).
    review_stays(customer, dealer, entered=cst(23, 9), left=cst(26, 12))
    assert likely(prediction.duration_table(now=NOW)) == {late.pk}

    cache.clear()
    # From Friday 27 November 09:00 to Monday 11:00: 11 working hours, though 74 on the clock.
    CalendarDay.objects.all().delete()
    StageEvent.objects.filter(from_stage=REVIEW).delete()
    review_stays(customer, dealer, entered=cst(27, 9), left=cst(30, 11))
    assert likely(prediction.duration_table(now=NOW)) == set()


# --- The quantiles ------------------------------------------------------------------------------


def test_the_quantiles_are_computed_per_product_and_per_stage(stays, products):
    stays([37, 100, 1, *range(2, 37), *range(38, 100)])
    stays([10] * 19, product_code="green_nev")

    table = prediction.duration_table(now=NOW)

    assert table.by_product[(STAGE, products["standard"])] == StayStats(
        100, dt.timedelta(hours=50, minutes=30), dt.timedelta(hours=80, minutes=12)
    )
    # 119 stays: 1 … 100 h and nineteen of 10 h; positions 59 and 94.4 of the sorted durations.
    assert table.by_stage[STAGE] == StayStats(119, dt.timedelta(hours=41), dt.timedelta(hours=76, minutes=24))
    assert predict(STAGE, products["green_nev"]).source == "stage"


def test_beat_refreshes_the_table_so_pages_read_it_without_a_query(stays, django_assert_num_queries):
    from django.conf import settings

    from applications.tasks import prediction_refresh

    stays([1, 2, 3])
    with time_machine.travel(NOW, tick=False) as clock:
        # Two rows: the pre-check across all products, and for the standard product.
        assert prediction_refresh.delay().get() == 2
        # A page just before beat's next refresh finds it kept. Read under the same clock as
        # the refresh: the in-process cache (no Redis) measures the lifetime by it.
        clock.shift(settings.CELERY_BEAT_SCHEDULE["prediction-refresh"]["schedule"] - 1)
        with django_assert_num_queries(0):
            table = prediction.duration_table()
    assert table.by_stage[STAGE].median == 2 * HOUR


def test_beat_refreshes_inside_the_cache_lifetime():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["prediction-refresh"]["schedule"] < prediction.CACHE_SECONDS


def test_sessions_run_without_jit():
    # The JIT compiled the prediction's query for 5 s of its 6; see loanportal/settings/base.py.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
