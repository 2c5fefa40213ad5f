"""Reads for the managers' SLA report. Every figure is aggregated in SQL, in a fixed number of queries.

Definitions (the report's page and its CSV files say the same):

- **A stay** in a stage runs from the transition into the stage to the next transition out of it,
  in one application's history (``StageEvent`` rows of kind transition), as for
  ``applications.prediction``: the leaving transition records when the stay began and was due
  (``stay_started_at``, ``stay_due_at``), so each stay is one row. Document and assignment events
  happen inside a stay. A file sent back to review has two stays in review. Drafts are not
  reported.
- **A stay counts in a date range** when it *ended* in the range (its leaving transition's time,
  read as a date in Asia/Shanghai). Stays still running are the backlog, not durations.
- **Breached**: the stay ended after the due time recorded when the stage was entered
  (``StageEvent.due_at``, kept since migration 0012, which the leaving transition repeats as
  ``stay_due_at``; staff stages count their limit in working time). Stays without a recorded due time (stages without a limit, history from before 0012)
  count in the durations but not in the breach share, whose denominator is shown beside it.
- **Median and p90** are ``percentile_cont``'s: sort the n durations, take position p·(n − 1)
  (0-based) and interpolate linearly between the two neighbouring values (PostgreSQL's
  ``percentile_cont(p) WITHIN GROUP (ORDER BY …)``). Durations are measured to the millisecond
  (each timestamp rounded to the nearest millisecond). The report reads them from the daily
  rollups of stays (``rollups``): the same ranks, each value read as the middle of its
  histogram bucket (buckets 2 % wide), so within 1 % of the exact figure; counts and breaches
  are exact. ``stay_groups_exact`` computes the exact figures from the history (tests, bench).
- **The reviewer** of a stay is the staff member whose transition ended it (reviewer, approver,
  operations, finance); stays ended by the customer, a dealer or the system are grouped as such —
  customers never appear by name.
- **The funnel** follows the applications *submitted* in the range (``submitted_at``, read as a
  date in Asia/Shanghai): how many of them have ever entered a stage of each of the five
  customer milestones, and how many stand rejected, withdrawn or expired.
- **Approval factors** follow the same applications: the decision is the transition into
  ``offer_pending`` (approved) or ``rejected`` (by the pre-check, a reviewer or an approver); the
  state machine allows at most one of them per application. The approval rate is approved ÷
  decided, the time to decision runs from submission; its median is read from a histogram as
  the stays' are (within 1 % of ``percentile_cont``), the counts are exact.
- **How fresh the funnel and the factors are.** They are cohort figures: they change as the
  range's files move on, however old the range. They are read from the cohort rollups
  (``cohorts``: per submission day), which beat recomputes every ``REPORT_ROLLUP_SECONDS`` (5
  minutes) for the days whose files had a transition since its last run; the files submitted
  since that run's mark (``rollups.SETTLE``, 10 minutes, before it) are read from the history.
  So a past cohort's figures are as of beat's last run — a step taken since shows within one
  beat interval — and the page says so ("Where these applications stood at …", from
  ``SlaReport.cohorts_as_of``). ``funnel(…, exact=True)`` and ``approval_factors(…,
  exact=True)`` compute them from the history alone (tests, bench). A file anonymised by the
  retention pass (five years after it closed) loses its income band in the history; its cohort's
  rows keep the band they were computed with until that day is recomputed.
- **The cause of a breach** is the cause of delay the application had when the stay ended (the
  leaving transition's ``data.delay_reason``); breached stays without one are "no cause recorded".

- **First response to questions** (``questions``): a customer's question that found nothing
  waiting opens a wait, due ``QUESTION_RESPONSE_HOURS`` working hours later; it counts in the range
  it was asked in. Median and p90 of the time to the first staff answer (elapsed time), and the
  share breached: answered late, or unanswered past due, of the waits answered or past due.

Queries: ``stay_groups`` 1, ``backlog`` 1, ``funnel`` 1, ``approval_factors`` 1,
``breaches_by_cause`` 1, ``first_response`` 1, the stays' rollups' mark before the stays and the
breaches (1 each) and the cohort rollups' mark before the funnel and the factors (1, shared) —
``sla_report`` makes these nine whatever the size of the book and the range. Values never go into
the SQL text: every value is a query parameter; only table names, column names and the package's
own constants are written in.

Each table has its module: ``stays`` (durations and breaches), ``open_applications`` (the
backlog), ``milestones`` (the funnel), ``factors`` (approval factors), ``causes`` (breaches by
cause), ``questions`` (first response to customers' questions). The rollups: ``rollups`` keeps
the daily rollups of stays the stays and causes are read from; ``cohorts`` reads the cohort
rollups the funnel and the factors come from, ``cohort_rollups`` writes them; ``refresh`` runs
both for beat and the backfill under one lock; ``histograms`` is their buckets. ``report``
assembles the tables and keeps the result in the cache; ``base`` is what they share (the range,
the SQL building blocks). The backlog's and the funnel's modules are not named ``backlog`` and
``funnel``: here those names are the functions.
"""

from __future__ import annotations

from .base import EARLIEST_DATE, MAX_RANGE_DAYS, REPORT_STAGES, DateRange, default_range
from .causes import CauseRow, breaches_by_cause
from .cohort_rollups import cohort_days
from .cohorts import CohortMark, cohort_mark
from .factors import FACTOR_DIMENSIONS, FactorRow, approval_factors
from .milestones import Funnel, funnel
from .open_applications import AGE_BUCKETS, BacklogRow, backlog
from .questions import FirstResponse, first_response
from .refresh import rollup_backfill, rollup_refresh
from .report import (
    SlaReport,
    _beside,
    cached_report,
    report_memory,
    report_refresh,
    report_store,
    sla_report,
)
from .rollups import rollup_days
from .stays import StayGroups, StayRow, StayStats, stage_summary_sql, stay_groups, stay_groups_exact

# What the views, tasks, exports, charts, forms, the benchmark and the tests import from here. The
# result classes are here too because reports kept in the cache were pickled under this module's
# name before it became a package; ``_beside`` because the tests call it.
__all__ = [
    "AGE_BUCKETS",
    "EARLIEST_DATE",
    "FACTOR_DIMENSIONS",
    "MAX_RANGE_DAYS",
    "REPORT_STAGES",
    "BacklogRow",
    "CauseRow",
    "CohortMark",
    "DateRange",
    "FactorRow",
    "FirstResponse",
    "Funnel",
    "SlaReport",
    "StayGroups",
    "StayRow",
    "StayStats",
    "_beside",
    "approval_factors",
    "backlog",
    "breaches_by_cause",
    "cached_report",
    "cohort_days",
    "cohort_mark",
    "default_range",
    "first_response",
    "funnel",
    "report_memory",
    "report_refresh",
    "report_store",
    "rollup_backfill",
    "rollup_days",
    "rollup_refresh",
    "sla_report",
    "stage_summary_sql",
    "stay_groups",
    "stay_groups_exact",
]
