"""The home page: where a visitor starts (apply, or track an application) and, signed in, where a
customer's own applications stand and what each one needs from them."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ..choices import FINAL_STAGES, Stage
from ..eta import expected_completion
from ..selectors import ApplicationCard, customer_application_cards, milestone_overview
from ..templatetags.timeline import expected_text, reply_by_text
from .access import is_staff_only


@dataclass(frozen=True)
class HomeCard:
    """One of the customer's applications on the home page: the list's card, and in words when the
    current stage should be done (our stages) or by when the customer should answer (theirs)."""

    card: ApplicationCard
    when: str  # "Expected by Tue 14:00, about 6 hours" / "Please reply by …" / ""


def _when(card: ApplicationCard, *, now) -> str:
    application = card.application
    stage = application.stage
    if stage in FINAL_STAGES or stage == Stage.DRAFT:
        return ""
    if stage in (Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING):
        return reply_by_text(application.stage_due_at, now=now) if application.stage_due_at else ""
    # The same estimate as the timeline's, from the stays' figures the beat keeps in the cache.
    expectation = expected_completion(
        stage=stage,
        product_id=application.product_id,
        entered_at=application.stage_entered_at,
        due_at=application.stage_due_at,
        sla=card.definition.sla if card.definition else None,
        now=now,
    )
    return expected_text(expectation.expected_at, expectation.remaining, now=now) if expectation else ""


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous visitors and staff: the five steps (from the cached configuration, no query).
    A signed-in customer (staff who are customers too included) also gets their applications (1 query, ``customer_application_cards``;
    the expected times come from the cached figures)."""
    context: dict = {"milestones": milestone_overview(), "home_cards": None}
    user = request.user
    if user.is_authenticated and not is_staff_only(user):
        now = timezone.now()
        context["home_cards"] = [
            HomeCard(card, _when(card, now=now)) for card in customer_application_cards(user=user)
        ]
    return render(request, "home.html", context)
