"""The report's date range: two dates in Asia/Shanghai, checked before any query runs."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import EARLIEST_DATE, MAX_RANGE_DAYS, DateRange

DATE_MESSAGES = {
    "required": _("Enter a date."),
    "invalid": _("Enter a date as year-month-day, for example 2026-11-30."),
}


class DateInput(forms.DateInput):
    input_type = "date"


class ReportRangeForm(forms.Form):
    start = forms.DateField(
        label=_("From"), input_formats=["%Y-%m-%d"], widget=DateInput, error_messages=DATE_MESSAGES
    )
    end = forms.DateField(
        label=_("To"), input_formats=["%Y-%m-%d"], widget=DateInput, error_messages=DATE_MESSAGES
    )

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update(
                {"min": EARLIEST_DATE.isoformat(), "max": today.isoformat(), "class": "form-control"}
            )

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and start < EARLIEST_DATE:
            self.add_error(
                "start", _("Choose a date from %(date)s on.") % {"date": EARLIEST_DATE.isoformat()}
            )
        if end is not None and end > self.today:
            self.add_error("end", _("The end date cannot be after today."))
        if start is not None and end is not None and not self.errors:
            if start > end:
                self.add_error("end", _("The end date must be on or after the start date."))
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error(
                    "end", _("Choose at most %(days)s days (one year).") % {"days": MAX_RANGE_DAYS}
                )
        return cleaned

    def date_range(self) -> DateRange:
        return DateRange(self.cleaned_data["start"], self.cleaned_data["end"])
