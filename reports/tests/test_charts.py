"""The charts' geometry: bars on one scale, a trend line with gaps, a funnel of shares."""

from __future__ import annotations

import datetime as dt

from reports import charts
from reports.selectors import Funnel, StayRow, StayStats


def row(stage, stays, median, p90, with_due=0, breached=0, key=None, label=""):
    return StayRow(stage, StayStats(stays, median, p90, with_due, breached), key=key, label=label)


def test_the_longest_p90_fills_the_width_and_empty_stages_are_left_out():
    chart = charts.duration_chart(
        [
            row("under_review", 5, 3600, 7200),
            row("approval", 2, 900, 1800),
            row("disbursement", 0, None, None),
        ]
    )

    assert [item.label for item in chart.items] == ["Under review", "Approval"]
    review, approval = chart.items
    assert (review.median.length, review.p90.length) == (125.0, charts.BAR_SPACE)
    assert (approval.median.length, approval.p90.length) == (31.2, 62.5)
    assert review.p90.text_x == charts.BAR_SPACE + 4
    assert chart.height > approval.p90.y + 10


def test_no_chart_without_a_stay():
    assert charts.duration_chart([row("approval", 0, None, None)]) is None


def test_the_trend_breaks_where_a_week_has_no_stay_with_a_time_limit():
    weeks = [
        row(None, 4, None, None, with_due=4, breached=1, key=dt.date(2026, 11, 2), label="2026-W45"),
        row(None, 0, None, None, key=dt.date(2026, 11, 9), label="2026-W46"),
        row(None, 3, None, None, with_due=2, breached=2, key=dt.date(2026, 11, 16), label="2026-W47"),
        row(None, 5, None, None, with_due=5, breached=0, key=dt.date(2026, 11, 23), label="2026-W48"),
    ]

    chart = charts.breach_trend_chart(weeks)

    assert [p.y is None for p in chart.points] == [False, True, False, False]
    assert len(chart.segments) == 2  # the first week alone, then the last two joined
    # The highest week is 100 %: the scale tops out at 100 %, the top grid line.
    assert chart.ticks[-1] == (chart.top, 1.0)
    assert chart.points[2].y == chart.top and chart.points[3].y == chart.bottom
    assert [label for _x, label in chart.x_labels] == ["W45", "W46", "W47", "W48"]


def test_a_low_breach_share_gets_a_scale_it_can_be_read_on():
    weeks = [row(None, 20, None, None, with_due=20, breached=1, key=dt.date(2026, 11, 2), label="2026-W45")]

    chart = charts.breach_trend_chart(weeks)

    assert chart.ticks[-1][1] == 0.1  # 5 % on a 10 % scale: half-way up


def test_the_funnel_bars_are_shares_of_the_submitted():
    chart = charts.funnel_chart(Funnel(8, (8, 6, 4, 2, 0), 1, 1, 0), ["1", "2", "3", "4", "5"])

    assert [item.bar.length for item in chart.items] == [250.0, 187.5, 125.0, 62.5, 0.0]
    assert [item.share for item in chart.items] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert charts.funnel_chart(Funnel(0, (0, 0, 0, 0, 0), 0, 0, 0), ["1", "2", "3", "4", "5"]) is None
