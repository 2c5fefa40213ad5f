"""When will the current stage be done? The customer's expected completion time.

The estimate for a stage is how long that stage *really* took for recent applications, read from
the history (``StageEvent``), not the time limit staff are held to: a review that usually takes six
hours should say so, even when its limit is 24. With too little history (a new stage, a quiet
season) the stage's time limit (SLA) stands in. ``typical_stage_duration`` is the method;
``expected_completion`` applies it to one application.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Literal

from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .choices import CUSTOMER_STAGES, FINAL_STAGES, EventKind
from .models import StageEvent

# How far back a stage's history counts: recent enough to follow staffing and season.
WINDOW = dt.timedelta(days=90)
# Fewer completed stays than this and a median says more about luck than about the stage.
MIN_SAMPLES = 20
# The medians move slowly; every timeline page needs one, so keep it for a few minutes.
CACHE_SECONDS = 300
_CACHE_KEY = "eta:stage-median:v1:{stage}"


@dataclass(frozen=True)
class TypicalDuration:
    duration: dt.timedelta
    source: Literal["history", "sla"]
    samples: int  # completed stays in the window (also when too few and the SLA was used)


def _recent_stays(stage: str, *, now: dt.datetime) -> list[dt.timedelta]:
    """How long each stay in ``stage`` lasted, for every stay that ended in the last ``WINDOW``.

    One query. A stay ends with a transition out of the stage (``from_stage = stage``); it began
    with the latest transition into the stage before that one in the same application's history.
    Non-transition events (documents, assignments) happen inside a stay and neither start nor end
    one. An application that passed through the stage twice (sent back to review) gives two stays.
    """
    entered = (
        StageEvent.objects.filter(
            application=OuterRef("application"),
            kind=EventKind.TRANSITION,
            to_stage=stage,
            sequence__lt=OuterRef("sequence"),
        )
        .order_by("-sequence")
        .values("created_at")[:1]
    )
    rows = (
        StageEvent.objects.filter(
            kind=EventKind.TRANSITION,
            from_stage=stage,
            created_at__gte=now - WINDOW,
            created_at__lte=now,
        )
        .annotate(entered_at=Subquery(entered))
        .values_list("entered_at", "created_at")
    )
    return [left - entered_at for entered_at, left in rows if entered_at is not None]


def _median_from_history(stage: str, *, now: dt.datetime) -> tuple[dt.timedelta | None, int]:
    """The median stay and the number of stays, cached for ``CACHE_SECONDS``."""
    key = _CACHE_KEY.format(stage=stage)
    cached = cache.get(key)
    if cached is not None:
        seconds, samples = cached
        return (None if seconds is None else dt.timedelta(seconds=seconds)), samples
    stays = _recent_stays(stage, now=now)
    median = statistics.median(stays) if stays else None  # the mean of the middle two when even
    cache.set(key, (None if median is None else median.total_seconds(), len(stays)), timeout=CACHE_SECONDS)
    return median, len(stays)


def typical_stage_duration(
    stage: str, *, sla: dt.timedelta | None, now: dt.datetime | None = None
) -> TypicalDuration | None:
    """How long a stay in ``stage`` typically lasts: the method behind every expected time.

    1. Take every stay in the stage that *ended* in the last 90 days (``WINDOW``), from the
       history: the transition into the stage and the next transition out of it, per application.
       Stays still running are left out, so a backlog shows up only once it clears — which is why
       the timeline also tells the customer when a stage is past its time limit.
    2. With at least ``MIN_SAMPLES`` (20) stays, the typical duration is their median: robust to
       the odd file that waited a week for a third party, unlike the mean.
    3. Otherwise the stage's time limit (``sla``, from its ``StageDefinition``) stands in; for
       one application that means its stored due time (``expected_completion``).
    4. No history and no time limit (draft, final stages): None — nothing to promise.

    The median and the count are cached per stage for five minutes (Django's cache: Redis when
    configured), so a page view costs at most one query, and none while the cache is warm.
    """
    now = now or timezone.now()
    median, samples = _median_from_history(stage, now=now)
    if median is not None and samples >= MIN_SAMPLES:
        return TypicalDuration(duration=median, source="history", samples=samples)
    if sla is not None:
        return TypicalDuration(duration=sla, source="sla", samples=samples)
    return None


@dataclass(frozen=True)
class Expectation:
    expected_at: dt.datetime
    remaining: dt.timedelta  # from now; always positive
    typical: TypicalDuration


def expected_completion(
    *,
    stage: str,
    entered_at: dt.datetime,
    due_at: dt.datetime | None,
    sla: dt.timedelta | None,
    now: dt.datetime | None = None,
) -> Expectation | None:
    """When the application should leave ``stage``.

    With enough history: entry time plus the median stay. Otherwise the time limit, as the due time
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
    typical = typical_stage_duration(stage, sla=sla, now=now)
    if typical is None:
        return None
    use_duration = typical.source == "history" or due_at is None
    expected_at = entered_at + typical.duration if use_duration else due_at
    if expected_at <= now:
        if due_at is None or due_at <= now:
            return None
        expected_at = due_at
    return Expectation(expected_at=expected_at, remaining=expected_at - now, typical=typical)


def is_overdue(*, stage: str, due_at: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Past its time limit and still open."""
    return stage not in FINAL_STAGES and due_at is not None and due_at <= (now or timezone.now())
