"""The managers' SLA report: one page, its CSV files through ``?format=csv&table=<name>``."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from applications.choices import MILESTONES

from . import charts, exports, selectors
from .forms import ReportRangeForm
from .permissions import is_manager
from .selectors import AGE_BUCKETS, DateRange, SlaReport, default_range, sla_report

PRESET_DAYS = (7, 30, 90)


def _range_data(query, today: dt.date) -> dict[str, str]:
    """The form's data: the last 90 days unless the query names dates."""
    default = default_range(today=today)
    data = {"start": default.start.isoformat(), "end": default.end.isoformat()}
    for name in ("start", "end"):
        if name in query:
            data[name] = query[name].strip()
    return data


def report_for(date_range: DateRange) -> SlaReport:
    """The range's figures: kept ones, else computed now and kept for ``REPORT_CACHE_SECONDS``
    (0: computed on every view). The stays come from the daily rollups, so any range is computed
    within the request: the page never waits on a worker."""
    report = selectors.cached_report(date_range)
    if report is None:
        report = sla_report(date_range.start, date_range.end, now=timezone.now())
        selectors.report_store(report)
    return report


@login_required
@require_GET
def sla(request: HttpRequest) -> HttpResponse:
    """Queries: the user (sign-in; the session comes from the cache), the manager check, the
    navbar's unread count, and the report's figures (``report_for``): none while they are kept,
    else its nine, computed here (on PostgreSQL after one that gives their sorts memory). A CSV file is written from the kept figures; with the cache off it
    makes only its table's one query."""
    if not is_manager(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    form = ReportRangeForm(_range_data(request.GET, today), today=today)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        if table not in exports.TABLES:
            raise Http404
        if not form.is_valid():
            problems = [str(e) for errors in form.errors.values() for e in errors]
            return HttpResponseBadRequest(" ".join(problems), content_type="text/plain; charset=utf-8")
        date_range = form.date_range()
        if not settings.REPORT_CACHE_SECONDS:
            return exports.csv_response(table, exports.FreshFigures(date_range, timezone.now()))
        report = report_for(date_range)
        return exports.csv_response(table, report)

    context: dict = {"form": form, "presets": [], "report": None}
    for days in PRESET_DAYS:
        preset = default_range(today=today, days=days)
        query = urlencode({"start": preset.start.isoformat(), "end": preset.end.isoformat()})
        context["presets"].append({"days": days, "query": query, "range": preset})
    if form.is_valid():
        date_range = form.date_range()
        report = report_for(date_range)
        range_query = urlencode({"start": date_range.start.isoformat(), "end": date_range.end.isoformat()})
        active_preset = next((p["days"] for p in context["presets"] if p["range"] == date_range), None)
        titles = [str(m.title) for m in MILESTONES]
        context.update(
            report=report,
            range_query=range_query,
            duration_chart=charts.duration_chart(report.stays.stages),
            trend_chart=charts.breach_trend_chart(report.stays.week),
            funnel_chart=charts.funnel_chart(report.funnel, titles),
            funnel_rows=[
                (m, count, count / report.funnel.submitted if report.funnel.submitted else None)
                for m, count in zip(MILESTONES, report.funnel.reached, strict=True)
            ],
            age_buckets=[label for _code, _upper, label in AGE_BUCKETS],
            factor_tables=[
                (dimension, exports.factor_titles()[dimension], rows)
                for dimension, rows in report.factors.items()
            ],
            active_preset=active_preset,
            question_limit_hours=f"{settings.QUESTION_RESPONSE_HOURS:g}",
            # Beat brings the cohort rollups up to date this often (whole minutes, at least 1).
            rollup_minutes=max(1, math.ceil(settings.REPORT_ROLLUP_SECONDS / 60))
            if settings.REPORT_ROLLUP_SECONDS
            else 0,
        )
    else:
        context["error_summary"] = _("Fix the dates above to see the report.")
    return render(request, "reports/sla.html", context)
