"""Reads of the domain core: querysets with the joins their pages need."""

from __future__ import annotations

from dataclasses import dataclass

from .choices import MILESTONES, Milestone
from .models import StageDefinition


@dataclass(frozen=True)
class MilestoneInfo:
    milestone: Milestone
    definitions: list[StageDefinition]


def milestone_overview() -> list[MilestoneInfo]:
    """The five milestones with their stages' customer-facing words, for the public pages (1 query)."""
    definitions = {d.stage: d for d in StageDefinition.objects.all()}
    return [
        MilestoneInfo(m, [definitions[stage] for stage in m.stages if stage in definitions])
        for m in MILESTONES
    ]


def customer_drafts(*, user):
    """The customer's unsubmitted applications, newest change first, for "Continue your draft"
    (1 query: the applicant joined, the consents counted, so the next step needs no more)."""
    from django.db.models import Count

    from .choices import Stage
    from .models import LoanApplication

    return (
        LoanApplication.objects.filter(customer=user, stage=Stage.DRAFT)
        .select_related("applicant")
        .annotate(consent_count=Count("consents"))
        .order_by("-updated_at")
    )
