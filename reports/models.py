"""Daily rollups of stays: what the SLA report reads for whole past days instead of the history.

One row per Shanghai calendar day (the day the stay *ended*) or ISO week, stage, and grouping the report
shows: the stage alone, or the stage with the staff member who ended the stay, the application's
dealer or its product; and, for breached stays only, the cause of delay recorded when it ended.
The report never crosses two of these (no table is by dealer *and* product), so the rows are the
report's grouping sets, not their cross product: a few dozen rows a day however large the book.

Each row holds the counts the report adds up exactly (stays, stays with a due time, breached) and
the durations' histogram: log-spaced buckets of ratio ``reports.selectors.rollups.RATIO`` (1.02),
stored sparsely as two ``integer[]`` of the same length (the bucket indexes in ascending order and
their counts). PostgreSQL merges such histograms with ``unnest(buckets, counts)`` and ``SUM …
GROUP BY bucket`` — a set-returning function over plain integers, no JSON parsing — and the
quantiles are read from the merged counts with a window sum. Rows are derived data: no foreign
keys (the ids are the history's), replaced a whole day at a time (``selectors.rollups``).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class StayRollup(models.Model):
    class Dimension(models.TextChoices):
        STAGE = "stage", _("Stage")
        STAFF = "staff", _("Staff member")
        DEALER = "dealer", _("Dealer")
        PRODUCT = "product", _("Product")
        CAUSE = "cause", _("Cause of delay")

    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")

    # A day's stays, or a week's (Monday to Sunday, ``day`` its Monday): the sum of its seven days'
    # rows, kept with them, so that a long range reads one row a week instead of seven.
    period = models.CharField(_("period"), max_length=5, choices=Period.choices, default=Period.DAY)
    day = models.DateField(_("day"))  # in Asia/Shanghai: the day the stays ended
    stage = models.CharField(_("stage"), max_length=30)
    dimension = models.CharField(_("grouping"), max_length=10, choices=Dimension.choices)
    # The staff member's, dealer's or product's id; NULL for stays ended by a customer, a dealer
    # or the system (dimension staff), and for the stage and cause rows.
    key = models.BigIntegerField(_("key"), null=True, blank=True)
    cause = models.CharField(_("cause of delay"), max_length=40, blank=True, default="")  # cause rows
    stays = models.IntegerField(_("stays"))
    with_due = models.IntegerField(_("stays with a due time"))
    breached = models.IntegerField(_("breached"))
    seconds = models.FloatField(_("sum of durations (seconds)"), default=0.0)
    buckets = ArrayField(models.IntegerField(), default=list)
    counts = ArrayField(models.IntegerField(), default=list)

    class Meta:
        verbose_name = _("stay rollup")
        verbose_name_plural = _("stay rollups")
        indexes = [models.Index(fields=["period", "day"], name="stay_rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.stage} {self.dimension} {self.key or self.cause}"


class StayRollupMark(models.Model):
    """How far the rollups go (one row, id 1): every stay that ended before ``rolled_until`` is in
    them (today's rows hold today's stays up to that instant), from the history as it stood up to
    the event ``event_id`` (the high-water mark beat starts from next time). Stays that ended
    after ``rolled_until`` are read from the history."""

    event_id = models.BigIntegerField(_("last event rolled up"), default=0)
    rolled_until = models.DateTimeField(_("rolled up until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stay rollup mark")
        verbose_name_plural = _("stay rollup marks")

    def __str__(self) -> str:
        return f"until {self.rolled_until} (event {self.event_id})"
