"""The stage-change hook list: how the core lets other apps react without importing them.

``settings.LOANPORTAL_STAGE_HOOKS`` names, in order, every callable run when an application's
history gets an event: a stage change, a document reviewed, an assignment. Each hook says which
kinds of event it reacts to (``@stage_hook(EventKind.…)``) and is called only for those, with a
``StageChange``: a small frozen record of the event (ids, codes, from, to), never the locked model.
A hook that needs the application reads it itself.

Hooks run inside the transaction that wrote the event: rows they write commit or roll back with
it, and anything they send must wait for ``transaction.on_commit``. A hook may append an event of
its own (``services.application_event_add``); the hooks for that event's kind then run in turn.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from .choices import EventKind, Stage

if TYPE_CHECKING:
    from .models import StageEvent


@dataclass(frozen=True)
class StageChange:
    """One new event of an application's history, as the hooks see it."""

    application_id: int
    customer_id: int | None  # None for a walk-in buyer without an account
    sequence: int  # the event's number in the application's chain: unique per application
    kind: str  # EventKind
    transition: str  # the transition's name (``transitions.TRANSITIONS``); "" for other events
    from_stage: str
    to_stage: str  # the stage the application is in after the event
    actor_id: int | None  # None: the system
    reason_code: str
    data: Mapping[str, Any]  # the event's details, read-only
    created_at: dt.datetime

    @classmethod
    def of(cls, event: StageEvent, *, customer_id: int | None) -> StageChange:
        return cls(
            application_id=event.application_id,
            customer_id=customer_id,
            sequence=event.sequence,
            kind=event.kind,
            transition=event.transition,
            from_stage=event.from_stage,
            to_stage=event.to_stage,
            actor_id=event.actor_id,
            reason_code=event.reason_code,
            data=MappingProxyType(copy.deepcopy(event.data)),
            created_at=event.created_at,
        )


class StageHook(Protocol):
    kinds: frozenset[str]

    def __call__(self, *, change: StageChange) -> None: ...


def stage_hook(*kinds: EventKind) -> Callable[[Callable[..., None]], StageHook]:
    """Mark a function as a stage hook that reacts to history events of these kinds."""

    def mark(function: Callable[..., None]) -> StageHook:
        function.kinds = frozenset(kinds)  # type: ignore[attr-defined]
        return function  # type: ignore[return-value]

    return mark


@cache
def _load(paths: tuple[str, ...]) -> tuple[StageHook, ...]:
    hooks = tuple(import_string(path) for path in paths)
    for path, hook in zip(paths, hooks, strict=True):
        if not getattr(hook, "kinds", None):
            raise ImproperlyConfigured(
                f"LOANPORTAL_STAGE_HOOKS: {path} does not say which events it reacts to (@stage_hook)."
            )
    return hooks


def run_stage_hooks(*, change: StageChange) -> None:
    for hook in _load(tuple(settings.LOANPORTAL_STAGE_HOOKS)):
        if change.kind in hook.kinds:
            hook(change=change)


@stage_hook(EventKind.TRANSITION)
def queue_precheck(*, change: StageChange) -> None:
    """A submitted application gets its automatic pre-check as soon as the submission commits."""
    from .tasks import enqueue_precheck  # tasks import the services, which import this module

    if change.to_stage == Stage.SUBMITTED:
        application_id = change.application_id
        transaction.on_commit(lambda: enqueue_precheck(application_id))
