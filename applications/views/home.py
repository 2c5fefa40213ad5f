from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..selectors import milestone_overview


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"milestones": milestone_overview()})
