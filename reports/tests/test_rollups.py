"""The daily rollups of stays: the report read from them gives the history's counts and breach
counts exactly and its median and p90 within 1 %; beat and the backfill keep them up to date."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from django.core.management import call_command

from applications.choices import Stage
from applications.tests.factories import DealerFactory
from reports import selectors
from reports.models import StayRollup, StayRollupMark
from reports.selectors import DateRange, histograms, rollups
from reports.selectors.causes import breaches_by_cause

from .builders import SHANGHAI, Step, at, file_with_history
from .test_figures import RANGE, five_reviews, review_file, second_reviewer  # noqa: F401 (fixtures)

NOVEMBER = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def flat(groups: selectors.StayGroups) -> dict[tuple, selectors.StayStats]:
    """Every row of every grouping, by (grouping, stage, key)."""
    rows = {("stage", r.stage, None): r.stats for r in groups.stages}
    rows[("total", None, None)] = groups.total.stats
    for dim in ("reviewer", "dealer", "product", "stage_week", "week"):
        rows.update({(dim, r.stage, r.key): r.stats for r in getattr(groups, dim)})
    return rows


def assert_same_as_the_history(date_range: DateRange) -> float:
    """The report's stays (rollups and today's history) against ``percentile_cont`` over the
    history: the same groups, counts and breaches exactly, the percentiles within 1 %; the
    breaches by cause identical. Returns the largest relative error of a percentile."""
    report, exact = flat(selectors.stay_groups(date_range)), flat(selectors.stay_groups_exact(date_range))
    assert report.keys() == exact.keys()
    worst = 0.0
    for key, expected in exact.items():
        got = report[key]
        assert (got.stays, got.with_due, got.breached) == (
            expected.stays,
            expected.with_due,
            expected.breached,
        ), key
        for value, truth in ((got.median, expected.median), (got.p90, expected.p90)):
            if truth is None:
                assert value is None, key
            elif truth:
                worst = max(worst, abs(value - truth) / abs(truth))
            else:
                assert value == 0, key
    assert worst < 0.01
    assert breaches_by_cause(date_range) == breaches_by_cause(date_range, exact=True)
    return worst


def backfill_until(moment: dt.datetime) -> None:
    """Rolled up as if the backfill ran at ``moment`` + the settling time: everything that ended
    before ``moment`` is in the rollups, what ended after is read from the history."""
    selectors.rollup_backfill(now=moment + rollups.SETTLE)


# --- Buckets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1.0, 59.999, 600.0, 14_400.0, 86_400.123, 2_592_000.0, -3.5])
def test_a_bucket_is_read_within_1_percent_of_every_duration_in_it(seconds):
    middle = histograms.bucket_middle(histograms.bucket_of(seconds))
    assert abs(middle - seconds) / abs(seconds) < 0.01
    assert histograms.RATIO <= 1.02


def test_bucket_indexes_follow_the_durations_order():
    values = [-86_400.0, -1.0, -0.001, 0.0, 0.001, 1.0, 3600.0, 86_400.0]
    assert [histograms.bucket_of(v) for v in values] == sorted(histograms.bucket_of(v) for v in values)
    assert histograms.bucket_of(0.0) == -1 and histograms.bucket_middle(-1) == 0.0


# --- The report from the rollups ------------------------------------------------------------------


def test_counts_and_breaches_are_exact_and_percentiles_within_1_percent(five_reviews):  # noqa: F811
    backfill_until(at(30, 23))
    assert StayRollup.objects.filter(period="day").exists()
    assert StayRollup.objects.filter(period="week").exists()  # the whole weeks of the month

    for date_range in (RANGE, NOVEMBER, DateRange(dt.date(2026, 11, 4), dt.date(2026, 11, 12))):
        assert_same_as_the_history(date_range)
    groups = selectors.stay_groups(RANGE)
    review = next(r for r in groups.stages if r.stage == Stage.UNDER_REVIEW).stats
    # As worked out by hand in test_figures: 5 stays, 4 with a due time, 2 late; median 4 h, p90 9.2 h.
    assert (review.stays, review.with_due, review.breached) == (5, 4, 2)
    assert review.median == pytest.approx(4 * 3600, rel=0.01)
    assert review.p90 == pytest.approx(9.2 * 3600, rel=0.01)


def test_the_report_reads_the_rollups_not_the_history(five_reviews):  # noqa: F811
    backfill_until(at(30, 23))
    # A rolled-up day's row changed by hand shows in the report: it was read, not the history.
    row = StayRollup.objects.get(
        period="day", day=dt.date(2026, 11, 3), stage=Stage.UNDER_REVIEW, dimension="stage"
    )
    StayRollup.objects.filter(pk=row.pk).update(stays=row.stays + 100)
    one_day = DateRange(dt.date(2026, 11, 3), dt.date(2026, 11, 3))
    review = next(r for r in selectors.stay_groups(one_day).stages if r.stage == Stage.UNDER_REVIEW)
    assert review.stats.stays == row.stays + 100


def test_quantiles_on_a_spread_of_durations_stay_within_1_percent(customer, reviewer, approver):
    """Durations from a millisecond to 20 days, log-spread, over many days, dealers and staff."""
    rng = random.Random(20261205)
    dealers = [DealerFactory(name=f"Dealer {n}") for n in range(3)]
    for n in range(6):
        moment = dt.datetime(2026, 3, 1, tzinfo=SHANGHAI) + dt.timedelta(hours=n)
        steps = [Step(Stage.SUBMITTED, moment, actor=customer)]
        for k in range(60):
            # Log-uniform between a millisecond and 20 days, whole milliseconds; a few zero.
            gap = (
                0 if k % 29 == 0 else round(math.exp(rng.uniform(math.log(0.001), math.log(20 * 86_400))), 3)
            )
            moment += dt.timedelta(seconds=gap)
            stage = Stage.UNDER_REVIEW if k % 2 == 0 else Stage.AWAITING_DOCUMENTS
            due = moment + dt.timedelta(hours=rng.choice([1, 8, 48])) if stage == Stage.UNDER_REVIEW else None
            steps.append(Step(stage, moment, due=due, actor=rng.choice([reviewer, approver, None])))
        file_with_history(customer=customer, dealer=dealers[n % 3], steps=steps)
    backfill_until(dt.datetime(2026, 12, 5, 12, tzinfo=SHANGHAI))

    worst = assert_same_as_the_history(DateRange(dt.date(2026, 3, 1), dt.date(2026, 12, 5)))
    assert worst > 0  # a histogram, not the exact figures: the bound above is what holds


# --- Today from the history -----------------------------------------------------------------------


def test_before_the_first_backfill_everything_is_read_from_the_history(five_reviews):  # noqa: F811
    assert not StayRollupMark.objects.exists()
    assert_same_as_the_history(RANGE)


def test_stays_after_the_mark_come_from_the_history_and_a_range_spans_both(customer, reviewer):
    """Rolled up until Nov 10 12:00 (Shanghai) — that day "today" — a stay ending in the afternoon
    is read from the history and merged with the rolled-up days of the range."""
    dealer = DealerFactory()
    review_file(customer, dealer, entered=at(3, 9), hours=2, due_after=1, reviewer=reviewer)  # rolled up
    review_file(
        customer, dealer, entered=at(10, 8), hours=1, due_after=4, reviewer=reviewer
    )  # today, rolled up
    backfill_until(at(10, 12))
    # Submitted 12:50, in review from 13:00 to 19:00 (due 17:00): after the mark, not rolled up.
    today = review_file(customer, dealer, entered=at(10, 13), hours=6, due_after=4, reviewer=reviewer)

    span = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    assert_same_as_the_history(span)
    review = next(r for r in selectors.stay_groups(span).stages if r.stage == Stage.UNDER_REVIEW).stats
    assert (review.stays, review.with_due, review.breached) == (3, 3, 2)
    # Today alone: the morning's stay from the rollups, the afternoon's from the history.
    one_day = DateRange(dt.date(2026, 11, 10), dt.date(2026, 11, 10))
    review = next(r for r in selectors.stay_groups(one_day).stages if r.stage == Stage.UNDER_REVIEW).stats
    assert (review.stays, review.breached) == (2, 1)
    assert today.stage == Stage.APPROVAL


# --- Kept up to date ------------------------------------------------------------------------------


def test_beat_rolls_up_a_stay_that_ended_since_and_history_written_late(customer, reviewer):
    dealer = DealerFactory()
    review_file(customer, dealer, entered=at(3, 9), hours=2, due_after=1, reviewer=reviewer)
    backfill_until(at(10, 12))
    mark = StayRollupMark.objects.get()

    # A stay ends this afternoon, and a stay of Nov 4 is written late (after the mark).
    review_file(customer, dealer, entered=at(10, 13), hours=2, due_after=4, reviewer=reviewer)
    review_file(customer, dealer, entered=at(4, 9), hours=5, due_after=4, reviewer=reviewer)
    days, rows = selectors.rollup_refresh(now=at(11, 1) + rollups.SETTLE)

    assert days >= 3 and rows > 0  # Nov 4 (late history), Nov 10 (its afternoon), Nov 11 (today)
    after = StayRollupMark.objects.get()
    assert after.event_id > mark.event_id and after.rolled_until == at(11, 1)
    review = StayRollup.objects.filter(period="day", stage=Stage.UNDER_REVIEW, dimension="stage")
    assert {r.day: (r.stays, r.breached) for r in review} == {
        dt.date(2026, 11, 3): (1, 1),
        dt.date(2026, 11, 4): (1, 1),
        dt.date(2026, 11, 10): (1, 0),
    }
    assert_same_as_the_history(NOVEMBER)

    # Nothing new: running again changes nothing.
    before = sorted(StayRollup.objects.values_list("period", "day", "stage", "dimension", "key", "stays"))
    selectors.rollup_refresh(now=at(11, 1) + rollups.SETTLE)
    assert (
        sorted(StayRollup.objects.values_list("period", "day", "stage", "dimension", "key", "stays"))
        == before
    )


def test_the_beat_task_without_a_mark_backfills(five_reviews, settings):  # noqa: F811
    from reports.tasks import stay_rollup_refresh

    assert stay_rollup_refresh.delay().get() > 0
    assert StayRollupMark.objects.get().rolled_until is not None
    assert "stay-rollups" in settings.CELERY_BEAT_SCHEDULE


def rollup_table_contents() -> list[tuple]:
    return sorted(
        StayRollup.objects.values_list(
            "period", "day", "stage", "dimension", "key", "cause", "stays", "with_due", "breached",
            "buckets", "counts",
        )
    )  # fmt: skip


def test_the_backfill_is_idempotent(five_reviews, capsys):  # noqa: F811
    call_command("reports_backfill")
    first = rollup_table_contents()
    assert "Rolled up" in capsys.readouterr().out
    call_command("reports_backfill")
    call_command("reports_backfill", "--since", "2026-11-04")
    assert rollup_table_contents() == first
    assert first  # something was rolled up
    assert_same_as_the_history(NOVEMBER)


def test_the_backfill_refuses_a_date_that_is_not_one():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("reports_backfill", "--since", "yesterday")
