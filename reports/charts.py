"""Chart geometry for the report's server-side SVG: numbers only, the markup is in the templates.

Each chart is drawn in a 360-unit-wide view box, about the width of a phone, so its 12-unit text
reads at 375 px and grows with the column on a wide screen (capped in the stylesheet). Every chart
has a table beside it with the same figures; the SVG is a picture of that table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .selectors import Funnel, StayRow

WIDTH = 360
BAR_SPACE = 250  # the longest bar; its value is written after it


@dataclass(frozen=True)
class Bar:
    y: float
    length: float
    value: float | None  # seconds, a share or a count, formatted by the template

    @property
    def text_x(self) -> float:
        """Where the bar's value is written: just after its end."""
        return round(self.length + 4, 1)


@dataclass(frozen=True)
class DurationItem:
    label: str
    label_y: float
    median: Bar
    p90: Bar


@dataclass(frozen=True)
class DurationChart:
    items: list[DurationItem]
    height: float


def _length(value: float | None, top: float) -> float:
    if not value or not top:
        return 0.0
    return round(max(BAR_SPACE * value / top, 1.0), 1)


def duration_chart(rows: list[StayRow]) -> DurationChart | None:
    """Median and p90 per stage as pairs of horizontal bars on one linear scale (the longest p90
    fills the width). Stages without stays are left out; None when no stage has any."""
    rows = [row for row in rows if row.stats.stays]
    if not rows:
        return None
    top = max(row.stats.p90 or 0 for row in rows)
    row_height, legend = 46, 26
    items = []
    for number, row in enumerate(rows):
        y = legend + number * row_height
        items.append(
            DurationItem(
                label=row.stage_label,
                label_y=y + 12,
                median=Bar(y + 18, _length(row.stats.median, top), row.stats.median),
                p90=Bar(y + 31, _length(row.stats.p90, top), row.stats.p90),
            )
        )
    return DurationChart(items=items, height=legend + len(rows) * row_height)


@dataclass(frozen=True)
class TrendPoint:
    x: float
    y: float | None  # None: no stay with a due time ended that week
    share: float | None
    breached: int
    with_due: int
    label: str


@dataclass(frozen=True)
class TrendChart:
    points: list[TrendPoint]
    segments: list[str]  # polyline "x,y x,y …" runs between weeks without data
    ticks: list[tuple[float, float]]  # (y, share) of the horizontal grid lines
    x_labels: list[tuple[float, str]]
    left: float
    right: float
    top: float
    bottom: float
    height: float


def _nice_ceiling(share: float) -> float:
    for ceiling in (0.1, 0.25, 0.5, 1.0):
        if share <= ceiling:
            return ceiling
    return 1.0


def breach_trend_chart(weeks: list[StayRow]) -> TrendChart | None:
    """The breach share of every week in the range as a line; None when no week has a stay with
    a due time. The vertical scale stops at 10 %, 25 %, 50 % or 100 %, whichever first holds the
    highest week, so a low share is still readable."""
    shares = [row.stats.breach_share for row in weeks]
    known = [share for share in shares if share is not None]
    if not known:
        return None
    left, right, top, bottom, height = 40.0, WIDTH - 10.0, 12.0, 150.0, 176.0
    ceiling = _nice_ceiling(max(known))
    span = len(weeks) - 1

    def x_of(index: int) -> float:
        return round(left + (right - left) * (index / span if span else 0.5), 1)

    points, segments, run = [], [], []
    for index, row in enumerate(weeks):
        share = row.stats.breach_share
        y = None if share is None else round(bottom - (bottom - top) * share / ceiling, 1)
        points.append(TrendPoint(x_of(index), y, share, row.stats.breached, row.stats.with_due, row.label))
        if y is None:
            if run:
                segments.append(" ".join(run))
            run = []
        else:
            run.append(f"{x_of(index)},{y}")
    if run:
        segments.append(" ".join(run))
    ticks = [(round(bottom - (bottom - top) * f, 1), ceiling * f) for f in (0, 0.5, 1)]
    step = max(1, math.ceil(len(weeks) / 6))  # at most six labels: they must not overlap at 375 px
    x_labels = [(x_of(i), weeks[i].label.split("-")[-1]) for i in range(0, len(weeks), step)]
    return TrendChart(points, segments, ticks, x_labels, left, right, top, bottom, height)


@dataclass(frozen=True)
class FunnelItem:
    label: str
    label_y: float
    bar: Bar
    share: float | None


@dataclass(frozen=True)
class FunnelChart:
    items: list[FunnelItem]
    height: float


def funnel_chart(funnel: Funnel, titles: list[str]) -> FunnelChart | None:
    """One bar per milestone, as long as the share of submitted applications that reached it."""
    if not funnel.submitted:
        return None
    row_height = 42
    items = []
    for number, (count, title) in enumerate(zip(funnel.reached, titles, strict=True)):
        y = number * row_height
        share = count / funnel.submitted
        items.append(FunnelItem(title, y + 12, Bar(y + 18, _length(count, funnel.submitted), count), share))
    return FunnelChart(items=items, height=len(items) * row_height)
