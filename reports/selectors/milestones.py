"""The funnel: how far the applications submitted in a range got, milestone by milestone (one
query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection

from applications.choices import MILESTONES, EventKind, Stage

from .base import DateRange, placeholders, tables


@dataclass(frozen=True)
class Funnel:
    submitted: int
    reached: tuple[int, ...]  # applications that reached milestone 1 … 5
    rejected: int
    withdrawn: int
    expired: int


def funnel(date_range: DateRange) -> Funnel:
    """How far the applications submitted in the range got: milestone by milestone (1 query)."""
    t = tables()
    start_at, end_at = date_range.bounds()
    params: list[Any] = []
    whens = []
    for milestone in reversed(MILESTONES):
        stages = [s.value for s in milestone.stages]
        whens.append(f"WHEN e.to_stage IN ({placeholders(stages)}) THEN {milestone.number}")
        params.extend(stages)
    params.append(EventKind.TRANSITION.value)
    params.extend([start_at, end_at])
    reached = ", ".join(
        f"COALESCE(SUM(CASE WHEN f.reached >= {m.number} THEN 1 ELSE 0 END), 0)" for m in MILESTONES
    )
    ends = (Stage.REJECTED.value, Stage.WITHDRAWN.value, Stage.EXPIRED.value)
    closed = ", ".join("COALESCE(SUM(CASE WHEN f.stage = %s THEN 1 ELSE 0 END), 0)" for _ in ends)
    sql = (
        f"SELECT COUNT(*), {reached}, {closed} FROM ("
        f" SELECT a.id, a.stage, MAX(CASE {' '.join(whens)} ELSE 1 END) AS reached"
        f" FROM {t['app']} a JOIN {t['event']} e ON e.application_id = a.id AND e.kind = %s"
        f" WHERE a.submitted_at >= %s AND a.submitted_at < %s"
        f" GROUP BY a.id, a.stage) f"
    )
    # The outer SELECT's placeholders come first in the text.
    params = [*ends, *params]
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    count = len(MILESTONES)
    return Funnel(
        submitted=int(row[0]),
        reached=tuple(int(n) for n in row[1 : 1 + count]),
        rejected=int(row[1 + count]),
        withdrawn=int(row[2 + count]),
        expired=int(row[3 + count]),
    )
