"""The back office's stage hook (listed in settings.LOANPORTAL_STAGE_HOOKS)."""

from __future__ import annotations

from applications.choices import EventKind
from applications.hooks import StageChange, stage_hook

from . import services


@stage_hook(EventKind.TRANSITION)
def assign_on_stage_change(*, change: StageChange) -> None:
    """When the stage changes, the open assignment ends and a stage with a staff owner gets the
    least-loaded eligible person (a file back from the customer's documents: the reviewer who asked
    for them, if they still may work it). Runs inside the transition's transaction: a refused or
    rolled-back transition assigns nobody. Other events (documents, assignments themselves) do not reach it."""
    services.assignment_on_stage_change(
        application_id=change.application_id, from_stage=change.from_stage, now=change.created_at
    )
