"""The stage-change hook list: how the core lets other apps react without importing them.

``settings.LOANPORTAL_STAGE_HOOKS`` names every callable run when an application changes stage, or
gets another history event (a document reviewed, an assignment: check ``event.kind``), in order. Hooks run inside the transition's transaction: rows they write commit or roll back with the
change, and anything they send must wait for ``transaction.on_commit``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import LoanApplication, StageEvent


class StageHook(Protocol):
    def __call__(self, *, application: LoanApplication, event: StageEvent) -> None: ...


@cache
def _load(paths: tuple[str, ...]) -> tuple[StageHook, ...]:
    return tuple(import_string(path) for path in paths)


def run_stage_hooks(*, application: LoanApplication, event: StageEvent) -> None:
    for hook in _load(tuple(settings.LOANPORTAL_STAGE_HOOKS)):
        hook(application=application, event=event)


def queue_precheck(*, application: LoanApplication, event: StageEvent) -> None:
    """A submitted application gets its automatic pre-check as soon as the submission commits."""
    from django.db import transaction

    from .choices import Stage
    from .tasks import enqueue_precheck

    if event.to_stage == Stage.SUBMITTED:
        application_id = application.pk
        transaction.on_commit(lambda: enqueue_precheck(application_id))
