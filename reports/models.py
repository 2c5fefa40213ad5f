"""Rollups: what the SLA report reads for whole past days instead of the history. The stays'
(``StayRollup``, by the day a stay ended) are described here; the cohorts' (``FunnelRollup``,
``FactorRollup``, by the day the files were submitted) below, with ``selectors.cohorts``.

One row per Shanghai calendar day (the day the stay *ended*) or ISO week, stage, and grouping the report
shows: the stage alone, or the stage with the staff member who ended the stay, the application's
dealer or its product; and, for breached stays only, the cause of delay recorded when it ended.
The report never crosses two of these (no table is by dealer *and* product), so the rows are the
report's grouping sets, not their cross product: a few dozen rows a day however large the book.

Each row holds the counts the report adds up exactly (stays, stays with a due time, breached) and
the durations' histogram: log-spaced buckets of ratio ``reports.selectors.histograms.RATIO`` (1.02),
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


# --- Cohorts: the applications submitted on a day -------------------------------------------------


class FunnelRollup(models.Model):
    """The funnel of the applications submitted on one Shanghai day (``day``): how many were
    submitted (with a transition on record), how many of them have reached each of the five
    customer milestones so far, and how many stand rejected, withdrawn or expired. A cohort's
    figures change as its files move on: the row is recomputed whole when a transition of one of
    its files is recorded (``selectors.cohorts``). One row a day: a year is 366 rows, no weeks."""

    day = models.DateField(_("day"), unique=True)  # in Asia/Shanghai: the day the files were submitted
    submitted = models.IntegerField(_("submitted"))
    # Milestones 1 … 5 (``applications.choices.MILESTONES``): the files that have reached each.
    reached_1 = models.IntegerField(_("reached step 1"))
    reached_2 = models.IntegerField(_("reached step 2"))
    reached_3 = models.IntegerField(_("reached step 3"))
    reached_4 = models.IntegerField(_("reached step 4"))
    reached_5 = models.IntegerField(_("reached step 5"))
    rejected = models.IntegerField(_("rejected"))
    withdrawn = models.IntegerField(_("withdrawn"))
    expired = models.IntegerField(_("expired"))

    class Meta:
        verbose_name = _("funnel rollup")
        verbose_name_plural = _("funnel rollups")

    def __str__(self) -> str:
        return f"{self.day} {self.submitted}"


class FactorRollup(models.Model):
    """The approval factors of the applications submitted on one Shanghai day, or ISO week, per
    grouping (``selectors.factors.FACTOR_DIMENSIONS``) and key: a totals row (``octave`` NULL:
    the files submitted, decided and approved), and a row per octave of the times from
    submission to decision (``selectors.histograms.OCTAVE`` buckets of ratio ``RATIO``, 1.02)
    with the decided files in it and their histogram, so the median is within 1 % of
    ``percentile_cont`` and is found reading one octave's buckets, not all of them. Recomputed
    whole, with its week, like the funnel's row of the same day."""

    period = models.CharField(
        _("period"), max_length=5, choices=StayRollup.Period.choices, default=StayRollup.Period.DAY
    )
    day = models.DateField(_("day"))  # in Asia/Shanghai: the day the files were submitted (a week's Monday)
    dimension = models.CharField(_("grouping"), max_length=20)
    # The band's code, "new_energy" / "fuel" (NULL for a down payment without a price, and for
    # the term and dealer rows), or the term in months / the dealer's id (NULL when not recorded).
    key_text = models.CharField(_("key"), max_length=20, null=True, blank=True)
    key_id = models.BigIntegerField(_("key id"), null=True, blank=True)
    octave = models.IntegerField(_("octave"), null=True, blank=True)  # NULL: the totals row
    submitted = models.IntegerField(_("submitted"))  # 0 in the octave rows, as approved
    decided = models.IntegerField(_("decided"))
    approved = models.IntegerField(_("approved"))
    buckets = ArrayField(models.IntegerField(), default=list)
    counts = ArrayField(models.IntegerField(), default=list)

    class Meta:
        verbose_name = _("approval factor rollup")
        verbose_name_plural = _("approval factor rollups")
        indexes = [models.Index(fields=["period", "day"], name="factor_rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension} {self.key_text or self.key_id}"


class CohortRollupMark(models.Model):
    """How far the cohort rollups go (one row, id 1): the files submitted before ``rolled_until``
    are in them, their figures as of ``updated_at`` (beat's last run: it recomputes every
    submission day whose files had a transition recorded after ``event_id``). Files submitted
    after ``rolled_until`` are read from the history."""

    event_id = models.BigIntegerField(_("last event rolled up"), default=0)
    rolled_until = models.DateTimeField(_("rolled up until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cohort rollup mark")
        verbose_name_plural = _("cohort rollup marks")

    def __str__(self) -> str:
        return f"until {self.rolled_until} (event {self.event_id})"
