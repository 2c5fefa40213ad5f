"""When will the current stage be done, and when will the money be paid out? The customer's
expected dates.

The estimate is how long a stage *really* took for recent applications of the same loan product
(the median of their stays, read from the history), not the time limit staff are held to: a review
that usually takes six hours should say so, even when its limit is 24. With too little history the
stage across all products, then the stage's time limit, stands in, and the page says so. The
method and its figures are ``applications.prediction``, shared with the staff queue's "likely to
breach" marker.

Each duration is added on its stage's own clock, the one it was measured on and the staff deadline
counts on: working time on the working calendar for staff stages (``sla.STAFF_CLOCK_STAGES``:
working hours, weekends and public holidays off, 调休 make-up days on), calendar time for the
automatic steps and the offer waiting on the customer. So a review entered on Friday evening with
a median of two working hours is expected on Monday at 11:00, as its deadline would be, never on
Saturday (unless that Saturday is a make-up working day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from .choices import CUSTOMER_STAGES, FINAL_STAGES, Stage
from .prediction import DurationTable, Prediction, duration_table, stage_prediction
from .sla import STAFF_CLOCK_STAGES, Calendar, add_working_time

# The way a file usually takes to disbursement: the state machine's forward transitions, without
# the detours (documents asked for, an approval sent back) and the endings (rejected, withdrawn,
# expired). ``test_eta`` checks that each step is a transition of ``LoanApplication.stage``.
USUAL_PATH: tuple[Stage, ...] = (
    Stage.SUBMITTED,
    Stage.CREDIT_CHECK,
    Stage.UNDER_REVIEW,
    Stage.APPROVAL,
    Stage.OFFER_PENDING,
    Stage.CONTRACT_SIGNING,
    Stage.LIEN_REGISTRATION,
    Stage.DISBURSEMENT,
    Stage.DISBURSED,
)
# Off the path: where a file goes once the customer has done their part.
_RESUMES_AT: dict[str, Stage] = {Stage.AWAITING_DOCUMENTS: Stage.UNDER_REVIEW}


@dataclass(frozen=True)
class Expectation:
    expected_at: dt.datetime
    remaining: dt.timedelta  # from now; always positive
    prediction: Prediction


@dataclass(frozen=True)
class Disbursement:
    """The expected disbursement of the whole file."""

    expected_at: dt.datetime
    from_history: bool  # every stage on the way has enough recent stays; else time limits stood in
    if_customer_acts_today: bool  # the file waits on the customer: counted from now, as if they act today


def add_on_clock(stage: str, start: dt.datetime, duration: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """``start`` plus ``duration`` on ``stage``'s clock: working time for staff stages, else calendar time."""
    if stage in STAFF_CLOCK_STAGES:
        return add_working_time(start, duration, calendar)
    return start + duration


def expected_completion(
    *,
    stage: str,
    product_id: int | None,
    entered_at: dt.datetime,
    due_at: dt.datetime | None,
    sla: dt.timedelta | None,
    now: dt.datetime | None = None,
    table: DurationTable | None = None,
) -> Expectation | None:
    """When the application should leave ``stage``.

    With enough history (for the stage and ``product_id``, else for the stage): entry time plus the
    median stay, on the stage's clock (``add_on_clock``). Otherwise the time limit, as the due time
    stored when the stage was entered (``due_at``, counted on the same clock); only without a
    stored due time is it entry plus ``sla`` on that clock. An estimate later than the due time is
    kept: the staff deadline stays what it is, and the customer is told what is likely. Once the
    typical time has passed but the stage is still within its limit, the limit is the honest
    answer. Past both there is no estimate to give: the page shows a delay notice instead. None as
    well for final stages and for stages that wait on the customer, whose page shows the
    customer's own deadline, not a prediction.
    """
    if stage in FINAL_STAGES or stage in CUSTOMER_STAGES:
        return None
    now = now or timezone.now()
    table = duration_table(now=now) if table is None else table
    prediction = stage_prediction(stage, product_id=product_id, sla=sla, now=now, table=table)
    if prediction is None:
        return None
    if prediction.from_history or due_at is None:
        expected_at = add_on_clock(stage, entered_at, prediction.median, table.calendar)
    else:
        expected_at = due_at
    if expected_at <= now:
        if due_at is None or due_at <= now:
            return None
        expected_at = due_at
    return Expectation(expected_at=expected_at, remaining=expected_at - now, prediction=prediction)


def expected_disbursement(
    *,
    stage: str,
    product_id: int | None,
    current: Expectation | None,
    slas: Mapping[str, dt.timedelta | None],
    now: dt.datetime,
    table: DurationTable,
) -> Disbursement | None:
    """When the file should be disbursed: the current stage's expected completion (``current``),
    then the median stay of each stage left on ``USUAL_PATH``, each added on its own clock.

    A file waiting on the customer (documents, the offer) is counted from now, as if they act
    today; the page says "if you upload today …". A stage without enough history counts its time
    limit (``slas``, by stage) and the result says so (``from_history`` False). None for final
    stages and drafts, for a staff stage with no expected completion (past its deadline: the page
    explains the delay instead), and off the path.
    """
    if stage in FINAL_STAGES or stage == Stage.DRAFT:
        return None
    waits_on_customer = stage in CUSTOMER_STAGES
    from_history = True
    if waits_on_customer:
        start = now
        if stage in _RESUMES_AT:  # documents received: back to the stage that asked for them
            remaining = USUAL_PATH[USUAL_PATH.index(_RESUMES_AT[stage]) :]
        else:  # the offer accepted: on to the next stage
            remaining = USUAL_PATH[USUAL_PATH.index(stage) + 1 :]
    else:
        if current is None or stage not in USUAL_PATH:
            return None
        start, from_history = current.expected_at, current.prediction.from_history
        remaining = USUAL_PATH[USUAL_PATH.index(stage) + 1 :]
    at = start
    for step in remaining:
        if step in FINAL_STAGES:
            break
        prediction = stage_prediction(step, product_id=product_id, sla=slas.get(step), table=table)
        if prediction is None:  # no history and no time limit: an instant step
            continue
        from_history = from_history and prediction.from_history
        at = add_on_clock(step, at, prediction.median, table.calendar)
    return Disbursement(expected_at=at, from_history=from_history, if_customer_acts_today=waits_on_customer)


def is_overdue(*, stage: str, due_at: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Past its time limit and still open."""
    return stage not in FINAL_STAGES and due_at is not None and due_at <= (now or timezone.now())
