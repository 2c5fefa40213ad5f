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
