"""The report's figures on hand-built histories, each expected value worked out by hand.

Percentiles by hand (linear interpolation, as ``percentile_cont``): sort the n values, take the
0-based position p·(n − 1), interpolate between its two neighbours.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import translation

from applications.choices import EventKind, Powertrain, Stage
from applications.models import LoanProduct
from applications.tests.factories import DealerFactory
from reports import selectors
from reports.selectors import DateRange

from .builders import Step, at, file_with_history
from .compare import assert_factors_match

HOUR = 3600.0


def h(hours: float) -> float:
    """Hours in seconds, to the millisecond the report measures in (7.3 · 3600 is not exact)."""
    return round(hours * HOUR, 3)


H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
# Monday 2 to Sunday 15 November 2026: ISO weeks 45 and 46.
RANGE = DateRange(dt.date(2026, 11, 2), dt.date(2026, 11, 15))
W45, W46 = dt.date(2026, 11, 2), dt.date(2026, 11, 9)


@pytest.fixture
def second_reviewer(make_user):
    from accounts.roles import Role

    return make_user("reviewer_b", Role.REVIEWER)


def review_file(
    customer,
    dealer,
    *,
    entered: dt.datetime,
    hours: float,
    due_after: float | None,
    reviewer,
    approval_hours: float | None = None,
    approval_due_after: float | None = None,
    approver=None,
    powertrain: str = Powertrain.FUEL,
    product_code: str = "standard",
):
    """Submitted and pre-checked ten minutes before ``entered``; in review for ``hours`` (due
    ``due_after`` hours after entering, or no due time); then in approval for ``approval_hours``
    (when given) before the offer."""
    left = entered + dt.timedelta(hours=hours)
    steps = [
        Step(Stage.SUBMITTED, entered - 10 * MINUTE, actor=customer),
        Step(Stage.CREDIT_CHECK, entered - 10 * MINUTE),
        Step(
            Stage.UNDER_REVIEW,
            entered,
            due=None if due_after is None else entered + dt.timedelta(hours=due_after),
        ),
        Step(
            Stage.APPROVAL,
            left,
            due=None if approval_due_after is None else left + dt.timedelta(hours=approval_due_after),
            actor=reviewer,
        ),
    ]
    if approval_hours is not None:
        steps.append(Step(Stage.OFFER_PENDING, left + dt.timedelta(hours=approval_hours), actor=approver))
    return file_with_history(
        customer=customer, dealer=dealer, steps=steps, powertrain=powertrain, product_code=product_code
    )


@pytest.fixture
def five_reviews(customer, reviewer, second_reviewer, approver):
    """Five stays in review (hours: 1, 2, 4, 8, 10; due 6 h after entry but 4 h for the 4-hour one,
    none for the 1-hour one) and three in approval (0.5, 1, 3 h; due after 8, 8 and 2 h).

    | stay | review | due  | week | reviewer | dealer | approval (due)  | product  |
    | R1   | 1 h    | none | W45  | A        | D1     | –               | standard |
    | R2   | 2 h    | 6 h  | W45  | A        | D2     | 0.5 h (8 h)     | standard |
    | R3   | 4 h    | 4 h  | W45  | B        | D2     | 1 h (8 h)       | standard |
    | R4   | 8 h    | 6 h  | W46  | B        | D1     | 3 h (2 h): late | standard |
    | R5   | 10 h   | 6 h  | W46  | A        | D2     | –               | green    |
    """
    d1, d2 = DealerFactory(name="Alpha Motors"), DealerFactory(name="Beta Motors")
    a, b = reviewer, second_reviewer
    review_file(customer, d1, entered=at(3, 9), hours=1, due_after=None, reviewer=a)
    review_file(
        customer, d2, entered=at(3, 9), hours=2, due_after=6, reviewer=a,
        approval_hours=0.5, approval_due_after=8, approver=approver,
    )  # fmt: skip
    review_file(
        customer, d2, entered=at(4, 9), hours=4, due_after=4, reviewer=b,
        approval_hours=1, approval_due_after=8, approver=approver,
    )  # fmt: skip
    review_file(
        customer, d1, entered=at(10, 9), hours=8, due_after=6, reviewer=b,
        approval_hours=3, approval_due_after=2, approver=approver,
    )  # fmt: skip
    review_file(
        customer, d2, entered=at(10, 9), hours=10, due_after=6, reviewer=a,
        powertrain=Powertrain.BATTERY_ELECTRIC, product_code="green_nev",
    )  # fmt: skip
    return {"A": a, "B": b, "D1": d1, "D2": d2}


def within_1_percent(value: float | None):
    """The report's median and p90 come from the daily rollups' histograms (or, for stays not yet
    rolled up, the same histograms computed from the history): within 1 % of ``percentile_cont``."""
    return None if value is None else pytest.approx(value, rel=0.01)


def stats(row) -> tuple:
    s = row.stats
    return (s.stays, within_1_percent(s.median), within_1_percent(s.p90), s.with_due, s.breached)


def test_median_p90_and_breach_share_per_stage(five_reviews):
    groups = selectors.stay_groups(RANGE)
    by_stage = {row.stage: row for row in groups.stages}

    # Review, sorted [1, 2, 4, 8, 10] h: median at position 2 → 4 h; p90 at 3.6 → 8 + 0.6·(10 − 8) = 9.2 h.
    # Due times on four; late: 8 h and 10 h against 6 h (4 h against 4 h is on time) → 2 of 4.
    assert stats(by_stage[Stage.UNDER_REVIEW]) == (5, h(4), h(9.2), 4, 2)
    assert by_stage[Stage.UNDER_REVIEW].stats.breach_share == 0.5
    # Approval, sorted [0.5, 1, 3] h: median 1 h; p90 at 1.8 → 1 + 0.8·(3 − 1) = 2.6 h; late: 3 h against 2 h.
    assert stats(by_stage[Stage.APPROVAL]) == (3, h(1), h(2.6), 3, 1)
    # The pre-check: five stays of ten minutes, no due time recorded.
    assert stats(by_stage[Stage.CREDIT_CHECK]) == (5, 600.0, 600.0, 0, 0)
    assert by_stage[Stage.CREDIT_CHECK].stats.breach_share is None
    # Stages nobody left in the range are listed with nothing in them.
    assert stats(by_stage[Stage.CONTRACT_SIGNING]) == (0, None, None, 0, 0)
    assert [row.stage for row in groups.stages] == list(selectors.REPORT_STAGES)
    # All stages: 5 submitted + 5 pre-check + 5 review + 3 approval stays; 3 late of 7 with a due time.
    assert (groups.total.stats.stays, groups.total.stats.with_due, groups.total.stats.breached) == (18, 7, 3)


def test_the_same_figures_by_reviewer(five_reviews):
    rows = {(r.stage, r.label): r for r in selectors.stay_groups(RANGE).reviewer}

    # A's reviews [1, 2, 10] h: median 2 h; p90 at 1.8 → 2 + 0.8·8 = 8.4 h; late 1 (10 h) of 2 with a due time.
    assert stats(rows[(Stage.UNDER_REVIEW, "reviewer")]) == (3, h(2), h(8.4), 2, 1)
    # B's reviews [4, 8] h: median 6 h; p90 at 0.9 → 4 + 0.9·4 = 7.6 h; late 1 (8 h) of 2.
    assert stats(rows[(Stage.UNDER_REVIEW, "reviewer_b")]) == (2, h(6), h(7.6), 2, 1)
    # The approver ended all three approval stays.
    assert stats(rows[(Stage.APPROVAL, "approver")]) == (3, h(1), h(2.6), 3, 1)


def test_the_same_figures_by_dealer_product_and_week(five_reviews):
    groups = selectors.stay_groups(RANGE)
    dealers = {(r.stage, r.label): r for r in groups.dealer}
    products = {(r.stage, r.key): r for r in groups.product}
    weeks = {(r.stage, r.key): r for r in groups.stage_week}
    green = LoanProduct.objects.get(code="green_nev").pk
    standard = LoanProduct.objects.get(code="standard").pk

    # Alpha (R1, R4): [1, 8] h → median 4.5 h, p90 1 + 0.9·7 = 7.3 h; R4 late, R1 without due time.
    assert stats(dealers[(Stage.UNDER_REVIEW, "Alpha Motors")]) == (2, h(4.5), h(7.3), 1, 1)
    # Beta (R2, R3, R5): [2, 4, 10] h → median 4 h, p90 4 + 0.8·6 = 8.8 h; R5 late.
    assert stats(dealers[(Stage.UNDER_REVIEW, "Beta Motors")]) == (3, h(4), h(8.8), 3, 1)
    # Products: R5 alone on the green loan; [1, 2, 4, 8] h on the standard one → median 3 h, p90 at
    # 2.7 → 4 + 0.7·4 = 6.8 h; R4 late of three with a due time.
    assert stats(products[(Stage.UNDER_REVIEW, green)]) == (1, h(10), h(10), 1, 1)
    assert stats(products[(Stage.UNDER_REVIEW, standard)]) == (4, h(3), h(6.8), 3, 1)
    assert {r.label for r in groups.product} == {
        "Standard car loan",
        LoanProduct.objects.get(pk=green).name_en,
    }
    # Weeks: W45 [1, 2, 4] h → median 2 h, p90 2 + 0.8·2 = 3.6 h, none late; W46 [8, 10] h → 9 h,
    # 8 + 0.9·2 = 9.8 h, both late.
    assert stats(weeks[(Stage.UNDER_REVIEW, W45)]) == (3, h(2), h(3.6), 2, 0)
    assert stats(weeks[(Stage.UNDER_REVIEW, W46)]) == (2, h(9), h(9.8), 2, 2)
    assert weeks[(Stage.UNDER_REVIEW, W45)].label == "2026-W45"


def test_weekly_breach_share_over_all_stages_for_every_week_of_the_range(five_reviews):
    weeks = selectors.stay_groups(RANGE).week

    # W45: reviews R2, R3 and approvals R2, R3 on time → 0 of 4. W46: reviews R4, R5 and approval R4
    # late → 3 of 3.
    assert [(r.label, r.stats.with_due, r.stats.breached) for r in weeks] == [
        ("2026-W45", 4, 0),
        ("2026-W46", 3, 3),
    ]
    assert [r.stats.breach_share for r in weeks] == [0.0, 1.0]


def test_a_range_starting_mid_week_shows_its_partial_weeks_empty_ones_too(five_reviews):
    weeks = selectors.stay_groups(DateRange(dt.date(2026, 11, 4), dt.date(2026, 11, 20))).week

    # Wednesday 4th to Friday 20th: the weeks of 2, 9 and 16 November; R2's stays (the 3rd) are out.
    assert [(r.key, r.stats.stays) for r in weeks] == [
        (dt.date(2026, 11, 2), 4),  # R3's submission, pre-check, review and approval, all on the 4th
        (dt.date(2026, 11, 9), 7),  # R4's four stays and R5's three
        (dt.date(2026, 11, 16), 0),
    ]


def test_a_stay_counts_by_the_shanghai_day_it_ended(customer, reviewer):
    dealer = DealerFactory()
    # Reviews of one hour, ending just before, at, and just after the range's edges (Shanghai time).
    for left in (at(1, 23, 59, 59), at(2, 0, 0, 0), at(15, 23, 59, 59), at(16, 0, 0, 0)):
        review_file(customer, dealer, entered=left - H, hours=1, due_after=None, reviewer=reviewer)

    review = selectors.stay_groups(RANGE).stages[selectors.REPORT_STAGES.index(Stage.UNDER_REVIEW)]

    assert review.stats.stays == 2  # 2 Nov 00:00:00 and 15 Nov 23:59:59


def test_a_file_sent_back_has_two_stays_and_events_inside_a_stay_do_not_split_it(
    customer, reviewer, approver
):
    file_with_history(
        customer=customer,
        dealer=DealerFactory(),
        steps=[
            Step(Stage.SUBMITTED, at(3, 8), actor=customer),
            Step(Stage.CREDIT_CHECK, at(3, 8)),
            Step(Stage.UNDER_REVIEW, at(3, 9)),
            Step(Stage.UNDER_REVIEW, at(3, 10), actor=customer, kind=EventKind.DOCUMENT),
            Step(Stage.UNDER_REVIEW, at(3, 10, 30), actor=reviewer, kind=EventKind.ASSIGNMENT),
            Step(Stage.APPROVAL, at(3, 12), actor=reviewer),  # first review: 3 h
            Step(Stage.UNDER_REVIEW, at(3, 13), actor=approver),  # sent back after 1 h
            Step(Stage.APPROVAL, at(3, 14), actor=reviewer),  # second review: 1 h
        ],
    )

    by_stage = {r.stage: r for r in selectors.stay_groups(RANGE).stages}

    # Reviews [1, 3] h: median 2 h; p90 1 + 0.9·2 = 2.8 h. The approval still running is not a stay.
    assert stats(by_stage[Stage.UNDER_REVIEW]) == (2, h(2), h(2.8), 0, 0)
    assert stats(by_stage[Stage.APPROVAL]) == (1, h(1), h(1), 0, 0)


def test_stays_ended_by_customers_are_grouped_without_a_name(customer, reviewer):
    file_with_history(
        customer=customer,
        dealer=DealerFactory(),
        steps=[
            Step(Stage.SUBMITTED, at(3, 8), actor=customer),
            Step(Stage.CREDIT_CHECK, at(3, 8)),
            Step(Stage.AWAITING_DOCUMENTS, at(3, 9)),
            Step(Stage.UNDER_REVIEW, at(4, 9), actor=customer),  # the customer's upload resumed review
        ],
    )

    rows = [r for r in selectors.stay_groups(RANGE).reviewer if r.stage == Stage.AWAITING_DOCUMENTS]

    assert [(r.key, r.label, r.stats.stays) for r in rows] == [(None, "Customer, dealer or system", 1)]


def test_percentiles_are_linear_interpolation_on_many_random_stays(customer, reviewer):
    """37 review stays of random lengths to the millisecond; Python's ``statistics`` (the
    'inclusive' method is percentile_cont's) gives the expected values independently."""
    rng = random.Random(20261130)
    dealer = DealerFactory()
    durations = []
    for _ in range(37):
        hours = rng.randint(60_000, 200_000_000) / 3_600_000  # one minute to ~2.3 days, whole milliseconds
        entered = at(5, 9) + dt.timedelta(milliseconds=rng.randint(0, 999))
        review_file(customer, dealer, entered=entered, hours=hours, due_after=None, reviewer=reviewer)
        left = entered + dt.timedelta(hours=hours)
        durations.append(round((left - entered).total_seconds(), 3))

    november = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    exact = selectors.stay_groups_exact(november).stages[2]
    review = selectors.stay_groups(november).stages[2]

    assert exact.stage == review.stage == Stage.UNDER_REVIEW
    p90 = statistics.quantiles(durations, n=10, method="inclusive")[8]
    # The history's percentile_cont exactly; the report's (from the rollups' histograms) within 1 %.
    assert exact.stats.median == pytest.approx(statistics.median(durations), abs=1e-3)
    assert exact.stats.p90 == pytest.approx(p90, abs=1e-3)
    assert review.stats.median == pytest.approx(statistics.median(durations), rel=0.01)
    assert review.stats.p90 == pytest.approx(p90, rel=0.01)


def test_the_raw_group_by_gives_the_per_stage_figures(five_reviews):
    sql, params = selectors.stage_summary_sql(RANGE)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}

    count, with_due, breached, median, p90 = rows[Stage.UNDER_REVIEW]
    assert (count, with_due, breached) == (5, 4, 2)
    assert (round(median, 3), round(p90, 3)) == (h(4), h(9.2))


# --- Backlog, funnel, approval factors ----------------------------------------------------------


def test_backlog_by_age_bucket_and_overdue(customer):
    now = at(20, 12)
    dealer = DealerFactory()

    def open_file(stage: str, entered: dt.datetime, due: dt.datetime | None) -> None:
        steps = [Step(Stage.SUBMITTED, entered - H, actor=customer), Step(stage, entered, due=due)]
        file_with_history(customer=customer, dealer=dealer, steps=steps)

    open_file(Stage.UNDER_REVIEW, now - 4 * H + MINUTE, due=now + H)  # 3 h 59 min: under 4 h
    open_file(Stage.UNDER_REVIEW, now - 4 * H, due=now + H)  # exactly 4 h: 4–24 h
    open_file(Stage.UNDER_REVIEW, now - 24 * H, due=now - dt.timedelta(seconds=1))  # 1–3 days, overdue
    open_file(Stage.APPROVAL, now - 72 * H, due=now)  # exactly 3 days: 3–7 days; due now is overdue
    open_file(Stage.APPROVAL, now - 168 * H - dt.timedelta(seconds=1), due=None)  # over 7 days
    open_file(Stage.DISBURSED, now - 100 * H, due=None)  # closed: not backlog
    file_with_history(customer=customer, dealer=dealer, steps=[])  # a draft: not backlog

    rows = {row.stage: row for row in selectors.backlog(now=now)}

    assert (rows[Stage.UNDER_REVIEW].total, rows[Stage.UNDER_REVIEW].buckets) == (3, (1, 1, 1, 0, 0))
    assert rows[Stage.UNDER_REVIEW].overdue == 1
    assert (rows[Stage.APPROVAL].total, rows[Stage.APPROVAL].buckets) == (2, (0, 0, 0, 1, 1))
    assert rows[Stage.APPROVAL].overdue == 1
    assert sum(row.total for row in rows.values()) == 5
    assert list(rows) == list(selectors.REPORT_STAGES)


def test_funnel_counts_the_milestones_reached_by_applications_submitted_in_the_range(customer):
    dealer = DealerFactory()
    t = at(3, 9)

    def path(*stages: str, submitted: dt.datetime = t) -> None:
        steps = [Step(Stage.SUBMITTED, submitted, actor=customer)]
        steps += [Step(stage, submitted + (n + 1) * H) for n, stage in enumerate(stages)]
        file_with_history(customer=customer, dealer=dealer, steps=steps)

    s = Stage
    path(
        s.CREDIT_CHECK,
        s.UNDER_REVIEW,
        s.APPROVAL,
        s.OFFER_PENDING,
        s.CONTRACT_SIGNING,
        s.LIEN_REGISTRATION,
        s.DISBURSEMENT,
        s.DISBURSED,
    )  # fmt: skip  — step 5
    path(s.CREDIT_CHECK, s.REJECTED)  # step 2, rejected
    path(s.CREDIT_CHECK, s.UNDER_REVIEW, s.APPROVAL, s.UNDER_REVIEW, s.WITHDRAWN)  # step 3, withdrawn
    path()  # submitted only: step 1
    path(s.CREDIT_CHECK, s.UNDER_REVIEW, s.APPROVAL, s.OFFER_PENDING, s.EXPIRED)  # step 3, expired
    path(s.CREDIT_CHECK, s.UNDER_REVIEW, submitted=at(1, 23, 59))  # submitted before the range
    file_with_history(customer=customer, dealer=dealer, steps=[])  # never submitted

    funnel = selectors.funnel(RANGE)

    assert funnel == selectors.Funnel(
        submitted=5, reached=(5, 4, 3, 1, 1), rejected=1, withdrawn=1, expired=1
    )


def test_approval_factors_by_band_term_vehicle_and_dealer(customer, approver):
    dealer = DealerFactory(name="Gamma Motors")
    t = at(5, 9)

    def decided(outcome: str | None, hours: float, **loan) -> None:
        steps = [Step(Stage.SUBMITTED, t, actor=customer), Step(Stage.CREDIT_CHECK, t)]
        if outcome is not None:
            steps.append(Step(outcome, t + dt.timedelta(hours=hours), actor=approver))
        file_with_history(customer=customer, dealer=dealer, steps=steps, **loan)

    # Every vehicle costs ¥200,000 (the builder's default).
    # F1: 30 % down, ¥25,000 a month, 36 months, fuel: approved after 24 h.
    decided(Stage.OFFER_PENDING, 24, down_payment=Decimal("60000.00"), monthly_income=Decimal("25000"))
    # F2: exactly 20 % down, exactly ¥8,000, 36 months, fuel: rejected after 2 h.
    decided(Stage.REJECTED, 2, down_payment=Decimal("40000.00"), monthly_income=Decimal("8000"))
    # F3: 15 % down, ¥50,000, 60 months, battery electric: approved after 10 h.
    decided(
        Stage.OFFER_PENDING, 10, down_payment=Decimal("30000.00"), monthly_income=Decimal("50000"),
        term_months=60, powertrain=Powertrain.BATTERY_ELECTRIC, product_code="green_nev",
    )  # fmt: skip
    # F4: 30 % down, ¥7,999.99, 36 months, fuel: not decided yet.
    decided(None, 0, down_payment=Decimal("60000.00"), monthly_income=Decimal("7999.99"))

    # The exact figures (the history, percentile_cont); the report's (the cohort rollups, here
    # none yet: the history through the same histograms) give the same counts and each median
    # within 1 % (test_cohorts).
    factors = selectors.approval_factors(RANGE, exact=True)
    assert_factors_match(selectors.approval_factors(RANGE), factors)

    def table(dimension):
        return [(r.key, r.submitted, r.decided, r.approved, r.median_to_decision) for r in factors[dimension]]

    assert table("down_payment") == [
        ("lt20", 1, 1, 1, h(10)),
        ("20-30", 1, 1, 0, h(2)),
        ("30-40", 2, 1, 1, h(24)),
    ]
    assert table("income") == [
        ("lt8k", 1, 0, 0, None),
        ("8k-15k", 1, 1, 0, h(2)),
        ("15k-30k", 1, 1, 1, h(24)),
        ("50k+", 1, 1, 1, h(10)),
    ]
    # 36 months: F1, F2, F4 — decided [2, 24] h, median 13 h.
    assert table("term") == [(36, 3, 2, 1, h(13)), (60, 1, 1, 1, h(10))]
    assert table("energy") == [("new_energy", 1, 1, 1, h(10)), ("fuel", 3, 2, 1, h(13))]
    # All four at one dealer: decided [2, 10, 24] h, median 10 h; 2 approved of 3 decided.
    assert table("dealer") == [(dealer.pk, 4, 3, 2, h(10))]
    assert factors["dealer"][0].label == "Gamma Motors"
    assert factors["dealer"][0].approval_rate == pytest.approx(2 / 3)
    assert [r.label for r in factors["energy"]] == ["New-energy (BEV, PHEV)", "Fuel or hybrid"]


# --- Two connections ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_rest_is_computed_beside_the_groupings_with_the_same_figures(
    five_reviews,
):
    """The funnel, factors and backlog run on a second connection, in the caller's language;
    inside a transaction (which that connection could not see into) all run on one. Either way
    the report is the same, and the second connection ends with its thread."""
    now = at(16, 12)

    def open_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = open_connections()
    assert not connection.in_atomic_block
    assert selectors._beside(lambda: "beside").result() == "beside"
    with translation.override("en"):  # not the default language: the thread must take it over
        beside = selectors.sla_report(RANGE.start, RANGE.end, now=now)
        with transaction.atomic():
            assert selectors._beside(lambda: "beside") is None
            one_after_another = selectors.sla_report(RANGE.start, RANGE.end, now=now)
    assert beside == one_after_another
    energy_labels = {row.label for row in beside.factors["energy"]}
    assert energy_labels and all(label.isascii() for label in energy_labels)
    for _ in range(20):  # the server notices a closed connection within moments
        if open_connections() == before:
            break
        time.sleep(0.1)
    assert open_connections() == before
