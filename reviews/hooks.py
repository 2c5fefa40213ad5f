"""The back office's stage hook (listed in settings.LOANPORTAL_STAGE_HOOKS)."""

from __future__ import annotations

from applications.choices import EventKind
from applications.models import LoanApplication, StageEvent

from . import services


def assign_on_stage_change(*, application: LoanApplication, event: StageEvent) -> None:
    """When the stage changes, the open assignment ends and a stage with a staff owner gets the
    least-loaded eligible person. Runs inside the transition's transaction: a refused or rolled-back
    transition assigns nobody. Other events (documents, assignments themselves) change nothing."""
    if event.kind != EventKind.TRANSITION:
        return
    services.assignment_on_stage_change(application=application, now=event.created_at)
