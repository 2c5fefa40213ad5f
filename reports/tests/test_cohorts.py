"""The cohort rollups: the funnel and the approval factors read from them give the history's counts
exactly and the median time to decision within 1 %; beat and the backfill keep them up to date as
old cohorts' files move on."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from applications.choices import Powertrain, Stage
from applications.tests.factories import DealerFactory
from reports import selectors
from reports.models import CohortRollupMark, FactorRollup, FunnelRollup
from reports.selectors import DateRange, rollups

from .builders import SHANGHAI, Step, at, file_with_history, step_added
from .compare import assert_factors_match

pytestmark = pytest.mark.django_db

# Five weeks of submissions, Monday Oct 19 to Sunday Nov 22 2026 (Shanghai).
FIRST_DAY = dt.date(2026, 10, 19)
DAYS = 35
RANGES = (
    DateRange(FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS - 1)),  # whole weeks: week rows
    DateRange(dt.date(2026, 10, 22), dt.date(2026, 11, 12)),  # days around whole weeks
    DateRange(dt.date(2026, 11, 3), dt.date(2026, 11, 3)),  # one day
    DateRange(dt.date(2026, 11, 20), dt.date(2026, 12, 5)),  # into days with no submission
)
# Where a file may go after the pre-check, as (stage, hours later) steps.
PATHS = (
    [],  # still in the pre-check
    [(Stage.REJECTED, 0.01)],  # rejected by the pre-check within a minute
    [(Stage.UNDER_REVIEW, 0.1), (Stage.REJECTED, 7)],
    [(Stage.UNDER_REVIEW, 0.1), (Stage.APPROVAL, 5), (Stage.OFFER_PENDING, 20)],
    [(Stage.UNDER_REVIEW, 0.1), (Stage.AWAITING_DOCUMENTS, 3), (Stage.WITHDRAWN, 50)],
    [(Stage.UNDER_REVIEW, 0.1), (Stage.APPROVAL, 2), (Stage.OFFER_PENDING, 30), (Stage.EXPIRED, 200)],
    [
        (Stage.UNDER_REVIEW, 0.2),
        (Stage.APPROVAL, 9),
        (Stage.OFFER_PENDING, 4),
        (Stage.CONTRACT_SIGNING, 24),
        (Stage.LIEN_REGISTRATION, 30),
        (Stage.DISBURSEMENT, 60),
        (Stage.DISBURSED, 2),
    ],
)


def a_file(customer, approver, dealer, submitted: dt.datetime, path, rng: random.Random, **loan):
    moment = submitted
    steps = [Step(Stage.SUBMITTED, moment, actor=customer), Step(Stage.CREDIT_CHECK, moment)]
    for stage, hours in path:
        # Every duration different: whole milliseconds, spread ±40 %.
        moment += dt.timedelta(milliseconds=round(hours * 3_600_000 * rng.uniform(0.6, 1.4)))
        steps.append(Step(stage, moment, actor=approver))
    return file_with_history(customer=customer, dealer=dealer, steps=steps, **loan)


@pytest.fixture
def book(customer, approver):
    """Files submitted over five weeks at three dealers, with every kind of loan and every path."""
    rng = random.Random(20261205)
    dealers = [DealerFactory(name=f"Dealer {n}") for n in range(3)]
    files = []
    for n in range(35):
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        submitted = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), tzinfo=SHANGHAI)
        electric = n % 5 == 0
        files.append(
            a_file(
                customer,
                approver,
                dealers[n % 3],
                submitted,
                PATHS[n % len(PATHS)],
                rng,
                down_payment=Decimal(
                    rng.choice(["30000.00", "40000.00", "60000.00", "90000.00", "120000.00"])
                ),
                monthly_income=Decimal(rng.choice(["7000", "12000", "25000", "40000", "60000"])),
                term_months=rng.choice([12, 24, 36, 60]),
                powertrain=Powertrain.BATTERY_ELECTRIC if electric else Powertrain.FUEL,
                product_code="green_nev" if electric else "standard",
            )
        )
    return files


def assert_same_as_the_history(date_range: DateRange) -> None:
    assert selectors.funnel(date_range) == selectors.funnel(date_range, exact=True)
    assert_factors_match(
        selectors.approval_factors(date_range), selectors.approval_factors(date_range, exact=True)
    )


def backfill_until(moment: dt.datetime) -> None:
    selectors.rollup_backfill(now=moment + rollups.SETTLE)


def cohort_tables() -> tuple[list, list]:
    funnel = sorted(FunnelRollup.objects.values_list())
    factors = sorted(
        FactorRollup.objects.values_list(
            "period",
            "day",
            "dimension",
            "key_text",
            "key_id",
            "submitted",
            "decided",
            "approved",
            "buckets",
            "counts",
        ),
        key=repr,
    )
    return [row[1:] for row in funnel], factors


# --- The report from the rollups ------------------------------------------------------------------


def test_counts_are_exact_and_medians_within_1_percent(book):
    # Before the first backfill: everything from the history, through the same histograms.
    assert not CohortRollupMark.objects.exists()
    for date_range in RANGES:
        assert_same_as_the_history(date_range)

    backfill_until(at(5, 12, month=12))
    assert FunnelRollup.objects.count() == len({f.submitted_at.astimezone(SHANGHAI).date() for f in book})
    assert FactorRollup.objects.filter(period="week").exists()
    for date_range in RANGES:
        assert_same_as_the_history(date_range)
    whole = selectors.funnel(RANGES[0])
    assert whole.submitted == len(book)
    assert whole.reached[0] == len(book) and 0 < whole.reached[4] < whole.reached[1]
    assert (whole.rejected, whole.withdrawn, whole.expired) != (0, 0, 0)


def test_the_report_reads_the_rollups_not_the_history(book):
    backfill_until(at(5, 12, month=12))
    day = book[0].submitted_at.astimezone(SHANGHAI).date()
    FunnelRollup.objects.filter(day=day).update(submitted=1000)
    row = FactorRollup.objects.filter(period="day", day=day, dimension="dealer").first()
    FactorRollup.objects.filter(pk=row.pk).update(submitted=row.submitted + 1000)
    one_day = DateRange(day, day)

    assert selectors.funnel(one_day).submitted == 1000
    dealers = {r.key: r.submitted for r in selectors.approval_factors(one_day)["dealer"]}
    assert dealers[row.key_id] == row.submitted + 1000


def test_files_submitted_after_the_mark_come_from_the_history(customer, approver):
    dealer, rng = DealerFactory(), random.Random(7)
    a_file(customer, approver, dealer, at(10, 9), PATHS[3], rng)  # rolled up
    backfill_until(at(10, 12))
    # Submitted this afternoon, after the mark: read from the history, beside the morning's.
    a_file(customer, approver, dealer, at(10, 13), PATHS[2], rng)

    assert FunnelRollup.objects.get().submitted == 1
    today = DateRange(dt.date(2026, 11, 10), dt.date(2026, 11, 10))
    assert selectors.funnel(today).submitted == 2
    assert [(r.submitted, r.decided, r.approved) for r in selectors.approval_factors(today)["dealer"]] == [
        (2, 2, 1)
    ]
    assert_same_as_the_history(today)


def test_a_median_between_two_octaves(customer, approver):
    """Two decisions, a minute and two days after submission: the median lies between them, its two
    ranks in octaves far apart, each read from its own octave's buckets."""
    dealer = DealerFactory()
    for hours in (1 / 60, 48):
        steps = [
            Step(Stage.SUBMITTED, at(10, 9), actor=customer),
            Step(Stage.CREDIT_CHECK, at(10, 9)),
            Step(Stage.REJECTED, at(10, 9) + dt.timedelta(hours=hours), actor=approver),
        ]
        file_with_history(customer=customer, dealer=dealer, steps=steps)
    backfill_until(at(11, 12))
    day = DateRange(dt.date(2026, 11, 10), dt.date(2026, 11, 10))

    (row,) = selectors.approval_factors(day)["dealer"]
    assert (row.submitted, row.decided, row.approved) == (2, 2, 0)
    assert row.median_to_decision == pytest.approx((60 + 48 * 3600) / 2, rel=0.01)
    assert FactorRollup.objects.filter(period="day", dimension="dealer", octave__isnull=False).count() == 2
    assert_same_as_the_history(day)


# --- Kept up to date ------------------------------------------------------------------------------


def test_beat_picks_up_a_later_step_of_an_old_cohort(book, customer, approver):
    backfill_until(at(10, 12, month=12))
    waiting = next(f for f in book if f.stage == Stage.CREDIT_CHECK)
    day = waiting.submitted_at.astimezone(SHANGHAI).date()
    cohort = DateRange(day, day)
    before = selectors.funnel(cohort)

    # Weeks later, the pre-check passes it and an approver approves it.
    step_added(waiting, Step(Stage.UNDER_REVIEW, at(10, 14, month=12)))
    step_added(waiting, Step(Stage.APPROVAL, at(10, 15, month=12), actor=approver))
    step_added(waiting, Step(Stage.OFFER_PENDING, at(10, 16, month=12), actor=approver))
    # Until beat runs, the cohort's figures are as of its last run (what the page says).
    assert selectors.funnel(cohort) == before
    days, rows = selectors.rollup_refresh(now=at(10, 17, month=12) + rollups.SETTLE)

    assert days >= 2 and rows > 0  # the cohort's day, and today's
    after = selectors.funnel(cohort)
    assert after.reached[2] == before.reached[2] + 1
    assert_same_as_the_history(cohort)
    for date_range in RANGES:
        assert_same_as_the_history(date_range)
    mark = CohortRollupMark.objects.get()
    assert mark.rolled_until == at(10, 17, month=12)

    # Nothing new: running again changes nothing.
    tables = cohort_tables()
    selectors.rollup_refresh(now=at(10, 17, month=12) + rollups.SETTLE)
    assert cohort_tables() == tables


def test_the_backfill_is_idempotent(book):
    call_command("reports_backfill")
    first = cohort_tables()
    call_command("reports_backfill")
    call_command("reports_backfill", "--since", "2026-11-04")
    assert cohort_tables() == first
    assert first[0] and first[1]
    for date_range in RANGES:
        assert_same_as_the_history(date_range)


def test_beat_without_cohort_rollups_backfills_them(book):
    """Stays rolled up before the cohort rollups existed (an upgrade): beat's next run adds them."""
    backfill_until(at(5, 12, month=12))
    FunnelRollup.objects.all().delete()
    FactorRollup.objects.all().delete()
    CohortRollupMark.objects.all().delete()
    assert_same_as_the_history(RANGES[0])  # from the history meanwhile

    selectors.rollup_refresh(now=at(5, 13, month=12) + rollups.SETTLE)

    assert FunnelRollup.objects.exists() and CohortRollupMark.objects.get().rolled_until == at(
        5, 13, month=12
    )
    assert_same_as_the_history(RANGES[0])


# --- On the page ----------------------------------------------------------------------------------


def test_the_page_says_as_of_when_the_cohorts_were_rolled_up(client, manager, book, settings):
    settings.REPORT_ROLLUP_SECONDS = 300
    selectors.rollup_backfill()
    CohortRollupMark.objects.filter(pk=1).update(updated_at=dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    client.force_login(manager)

    page = client.get(
        reverse("reports:sla"), {"start": "2026-10-19", "end": "2026-11-22"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert page.count("Where these applications stood at 2026-12-01 10:00") == 2  # funnel, factors
    assert "counted within 5 minutes" in page
    chinese = client.get(
        reverse("reports:sla"), {"start": "2026-10-19", "end": "2026-11-22"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "以上为这些申请截至 2026-12-01 10:00 的进度；此后的进展将在 5 分钟内计入。" in chinese


def test_the_backlog_reads_the_stages_the_open_files_index_covers():
    """The backlog's stages are the condition of the index it is read from (application_open_age_idx),
    so PostgreSQL can answer it from the index alone."""
    from applications.models.application import OPEN_STAGES

    assert list(selectors.REPORT_STAGES) == OPEN_STAGES
