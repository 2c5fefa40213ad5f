"""What every table of the SLA report shares: its date range, the stages it covers, and the SQL
building blocks its queries are written with (table names quoted by the connection, values always
parameters)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection as default_connection
from django.utils import timezone

from applications.choices import FINAL_STAGES, Stage
from applications.models import Applicant, Dealer, LoanApplication, LoanProduct, StageEvent

# Stages with stays and a backlog: every stage a file can wait in, but drafts (not yet submitted,
# no entering transition) and the final stages (nothing leaves them).
REPORT_STAGES: tuple[str, ...] = tuple(s.value for s in Stage if s not in FINAL_STAGES and s != Stage.DRAFT)
# A range may cover at most this many days; it starts no earlier than ``EARLIEST_DATE``.
MAX_RANGE_DAYS = 366
EARLIEST_DATE = dt.date(2000, 1, 1)


# --- The range ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """Dates in the project's time zone (Asia/Shanghai), both ends included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start_at, end_at)``: the first instant of ``start`` and of the day after ``end``."""
        zone = timezone.get_default_timezone()
        start_at = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end_at = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start_at, end_at


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def whole_weeks(date_range: DateRange) -> tuple[dt.date, dt.date]:
    """The Mondays of the first and the last whole ISO week inside the range, which the rollups
    read from their week rows (the days around them from day rows). Without a whole week, the
    day after the range and its last day: a span that holds no Monday and leaves out no day."""
    first = monday(date_range.start + dt.timedelta(days=6))
    last = monday(date_range.end + dt.timedelta(days=1)) - dt.timedelta(days=7)
    if first > last:
        return date_range.end + dt.timedelta(days=1), date_range.end
    return first, last


def default_range(*, today: dt.date | None = None, days: int = 90) -> DateRange:
    """The last ``days`` days up to and including today (Shanghai)."""
    today = today or timezone.localdate()
    return DateRange(today - dt.timedelta(days=days - 1), today)


# --- SQL building blocks ------------------------------------------------------------------------


def tables() -> dict[str, str]:
    """The tables the report reads, quoted by the connection: the only names written into its SQL."""
    qn = default_connection.ops.quote_name
    return {
        "event": qn(StageEvent._meta.db_table),
        "app": qn(LoanApplication._meta.db_table),
        "applicant": qn(Applicant._meta.db_table),
        "user": qn(get_user_model()._meta.db_table),
        "dealer": qn(Dealer._meta.db_table),
        "product": qn(LoanProduct._meta.db_table),
    }


def placeholders(values: Collection[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def seconds_between(later: str, earlier: str) -> str:
    """SQL for ``later − earlier`` in seconds, each timestamp rounded to the millisecond first."""
    return (
        f"CAST((round(extract(epoch FROM {later}) * 1000)"
        f" - round(extract(epoch FROM {earlier}) * 1000)) / 1000 AS double precision)"
    )


def percentiles_sql(
    source: str,
    group_by: Sequence[str],
    value: str,
    *,
    extra: str,
    percentiles: Sequence[float] = (0.5, 0.9),
) -> str:
    """``SELECT <group_by>, <extra>, pct_50, pct_90 FROM <source> GROUP BY <group_by>``, the
    percentiles interpolated linearly (``percentile_cont``). NULL values are left out, as
    ``percentile_cont`` leaves them out; a group without values gets NULL."""
    keys = ", ".join(group_by)
    names = [f"pct_{round(p * 100)}" for p in percentiles]
    columns = ", ".join(
        f"percentile_cont({p}) WITHIN GROUP (ORDER BY {value}) AS {name}"
        for p, name in zip(percentiles, names, strict=True)
    )
    return f"SELECT {keys}, {extra}, {columns} FROM {source} GROUP BY {keys}"


def seconds_value(value: Any) -> float | None:
    # Rounded to the millisecond the durations are measured in; hides the last bit of float noise.
    return None if value is None else round(float(value), 3)
