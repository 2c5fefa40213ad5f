"""The working calendar the staff SLA clock runs on: working hours, and the days that break the
weekly pattern (public holidays off, 调休 make-up weekend days on). Data, editable in admin;
``applications.sla`` does the arithmetic on a plain snapshot of it."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class WorkingCalendar(models.Model):
    """Working hours. One row is used (the first); a migration creates it."""

    name = models.CharField(_("name"), max_length=60, default="Mainland China")
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    day_start = models.TimeField(_("working day starts"), default=dt.time(9, 0))
    day_end = models.TimeField(_("working day ends"), default=dt.time(18, 0))

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendar")

    def __str__(self) -> str:
        return f"{self.name} {self.day_start:%H:%M}–{self.day_end:%H:%M} ({self.time_zone})"


class CalendarDay(models.Model):
    """A date that is not what its weekday says: a public holiday on a weekday (not working), or a
    make-up working day (调休) on a Saturday or Sunday (working)."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"), default=False)
    note = models.CharField(_("note"), max_length=100, blank=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("holidays and make-up working days")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.note}"
