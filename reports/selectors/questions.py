"""First response to customers' questions: how long staff took to answer, and how often past the
limit (one query).

**A wait** opens when a customer asks with nothing else waiting (``ThreadMessage.response_due_at``,
set from ``QUESTION_RESPONSE_HOURS`` working hours on the working calendar) and ends with the first
staff answer (``answered_at``); an internal note ends nothing. A wait counts in a range when it
*opened* in the range. **First-response time** is ``answered_at − asked`` in elapsed time (to the
millisecond), over the answered waits: median and p90 by ``percentile_cont``, like the stays.
**Breached**: answered after the due time, or still unanswered with the due time passed; the share
is of the waits whose outcome is known (answered, or past due), so a question asked a minute ago
counts in neither part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection as default_connection

from applications.models import ThreadMessage

from .base import DateRange, seconds_between, seconds_value


@dataclass(frozen=True)
class FirstResponse:
    asked: int  # waits opened in the range
    answered: int
    median_seconds: float | None
    p90_seconds: float | None
    breached: int
    decided: int  # answered, or unanswered past due: the breach share's denominator

    @property
    def breach_share(self) -> float | None:
        return self.breached / self.decided if self.decided else None

    @property
    def waiting(self) -> int:
        return self.asked - self.answered


def first_response_sql(date_range: DateRange, *, now: dt.datetime) -> tuple[str, list]:
    start_at, end_at = date_range.bounds()
    table = default_connection.ops.quote_name(ThreadMessage._meta.db_table)
    took = seconds_between("answered_at", "created_at")
    sql = (
        "SELECT COUNT(*), COUNT(answered_at),"
        f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {took}),"
        f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {took}),"
        " COUNT(*) FILTER (WHERE answered_at > response_due_at"
        "  OR (answered_at IS NULL AND response_due_at <= %s)),"
        " COUNT(*) FILTER (WHERE answered_at IS NOT NULL OR response_due_at <= %s)"
        f" FROM {table}"
        " WHERE response_due_at IS NOT NULL AND created_at >= %s AND created_at < %s"
    )
    return sql, [now, now, start_at, end_at]


def first_response(date_range: DateRange, *, now: dt.datetime) -> FirstResponse:
    """The range's first-response figures (1 query; ``percentile_cont`` leaves the unanswered out)."""
    sql, params = first_response_sql(date_range, now=now)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        asked, answered, median, p90, breached, decided = cursor.fetchone()
    return FirstResponse(
        asked=int(asked),
        answered=int(answered),
        median_seconds=seconds_value(median),
        p90_seconds=seconds_value(p90),
        breached=int(breached),
        decided=int(decided),
    )
