"""Breaches by cause of delay: the stays that ran past their time limit in a date range, stage by
stage, grouped by the cause recorded when the stay ended (one query).

The transition that ends a stay keeps the application's cause of delay at that moment in its data
(``data.delay_reason``, written by ``applications.services.lifecycle._transition`` since causes are
recorded: staff's, or the portal's own — the reviewer backlog, outside working hours, waiting for
documents or the credit bureau). Older stays, and late ones nobody explained, have none: they are
grouped as "no cause recorded". Only breached stays are read, so the table reads few rows of the
history whatever the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection as default_connection
from django.utils.translation import gettext_lazy as _

from applications.choices import EventKind, Stage
from applications.models import Reason

from . import rollups
from .base import REPORT_STAGES, DateRange, placeholders, tables
from .stays import _localized

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NO_CAUSE_LABEL = _("No cause recorded")


@dataclass(frozen=True)
class CauseRow:
    """The breached stays of one stage with one cause ("" for none recorded)."""

    stage: str
    cause: str
    label: str
    breached: int
    share: float  # of the stage's breached stays in the range

    @property
    def stage_label(self) -> StrOrPromise:
        return Stage(self.stage).label


def breaches_by_cause_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """The breached stays that ended in the range, counted by stage and recorded cause, with the
    cause's catalogue words in both languages. Values are parameters; the event kind is written in
    (a constant), as for the stays."""
    start_at, end_at = date_range.bounds()
    t = tables()
    reason = default_connection.ops.quote_name(Reason._meta.db_table)
    transition = EventKind.TRANSITION.value
    assert transition.isidentifier()  # a code constant, never input
    sql = (
        f"SELECT e.from_stage, COALESCE(e.data ->> 'delay_reason', '') AS cause, COUNT(*) AS breached,"
        f" r.text_zh_hans, r.text_en"
        f" FROM {t['event']} e"
        f" LEFT JOIN {reason} r ON r.code = e.data ->> 'delay_reason'"
        f" WHERE e.kind = '{transition}' AND e.from_stage IN ({placeholders(REPORT_STAGES)})"
        f"  AND e.created_at >= %s AND e.created_at < %s"
        f"  AND e.stay_due_at IS NOT NULL AND e.created_at > e.stay_due_at"
        f" GROUP BY e.from_stage, cause, r.text_zh_hans, r.text_en"
    )
    return sql, [*REPORT_STAGES, start_at, end_at]


def rollup_causes_sql(date_range: DateRange) -> tuple[str, list[Any]]:
    """``breaches_by_cause_sql``'s columns from the daily rollups' cause rows for the rolled-up
    days and the history for the rest (``rollups.rows_cte``)."""
    params: list[Any] = []
    rows = rollups.rows_cte(date_range, params, causes_only=True)
    reason = default_connection.ops.quote_name(Reason._meta.db_table)
    sql = (
        f"WITH {rows} SELECT c.stage, c.cause, c.breached, r.text_zh_hans, r.text_en"
        f" FROM (SELECT stage, cause, SUM(breached) AS breached FROM rollup_rows GROUP BY stage, cause) c"
        f" LEFT JOIN {reason} r ON r.code = c.cause"
    )
    return sql, params


def breaches_by_cause(date_range: DateRange, *, exact: bool = False) -> list[CauseRow]:
    """Stage by stage in lifecycle order, the most frequent cause first, "no cause recorded" last
    in each stage (1 query). From the rollups and today's history; ``exact``: from the history
    alone (as the rollups are checked)."""
    sql, params = breaches_by_cause_sql(date_range) if exact else rollup_causes_sql(date_range)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    per_stage: dict[str, int] = {}
    for stage, _cause, breached, _zh, _en in rows:
        per_stage[stage] = per_stage.get(stage, 0) + int(breached)
    result = [
        CauseRow(
            stage=stage,
            cause=cause,
            label=(_localized(zh, en) or cause) if cause else str(NO_CAUSE_LABEL),
            breached=int(breached),
            share=int(breached) / per_stage[stage],
        )
        for stage, cause, breached, zh, en in rows
    ]
    order = {stage: number for number, stage in enumerate(REPORT_STAGES)}
    result.sort(key=lambda r: (order[r.stage], not r.cause, -r.breached, r.label.casefold()))
    return result
