"""When will the current stage be done? The customer's expected completion time.

The estimate is how long the stage *really* took for recent applications of the same loan product
(the median of their stays, read from the history), not the time limit staff are held to: a review
that usually takes six hours should say so, even when its limit is 24. With too little history the
stage across all products, then the stage's time limit, stands in. The method and its figures are
``applications.prediction``, shared with the staff queue's "likely to breach" marker;
``expected_completion`` applies them to one application and decides what to promise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from .choices import CUSTOMER_STAGES, FINAL_STAGES
from .prediction import Prediction, stage_prediction


@dataclass(frozen=True)
class Expectation:
    expected_at: dt.datetime
    remaining: dt.timedelta  # from now; always positive
    prediction: Prediction


def expected_completion(
    *,
    stage: str,
    product_id: int | None,
    entered_at: dt.datetime,
    due_at: dt.datetime | None,
    sla: dt.timedelta | None,
    now: dt.datetime | None = None,
) -> Expectation | None:
    """When the application should leave ``stage``.

    With enough history (for the stage and ``product_id``, else for the stage): entry time plus the
    median stay (``prediction.stage_prediction``). Otherwise the time limit, as the due time
    stored when the stage was entered (``due_at``: staff stages count their limit in working hours,
    see ``applications.sla``, so a Friday-evening review is due on Monday, not on Saturday); only
    without a stored due time is it entry plus ``sla``. Once the typical time has passed but the
    stage is still within its limit, the limit is the honest answer. Past both there is no estimate
    to give: the page shows a delay notice instead. None as well for final stages and for stages
    that wait on the customer, whose page shows the customer's own deadline, not a prediction.
    """
    if stage in FINAL_STAGES or stage in CUSTOMER_STAGES:
        return None
    now = now or timezone.now()
    prediction = stage_prediction(stage, product_id=product_id, sla=sla, now=now)
    if prediction is None:
        return None
    use_duration = prediction.from_history or due_at is None
    expected_at = entered_at + prediction.median if use_duration else due_at
    if expected_at <= now:
        if due_at is None or due_at <= now:
            return None
        expected_at = due_at
    return Expectation(expected_at=expected_at, remaining=expected_at - now, prediction=prediction)


def is_overdue(*, stage: str, due_at: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Past its time limit and still open."""
    return stage not in FINAL_STAGES and due_at is not None and due_at <= (now or timezone.now())
