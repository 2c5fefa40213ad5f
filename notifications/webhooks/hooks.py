"""The webhooks' stage hook (listed in settings.LOANPORTAL_STAGE_HOOKS)."""

from __future__ import annotations

from applications.choices import EventKind
from applications.hooks import StageChange, stage_hook

from .services import webhook_deliveries_create


@stage_hook(EventKind.TRANSITION)
def queue_webhooks(*, change: StageChange) -> None:
    """Write the dealership's webhook deliveries of a stage change, in its transaction: a
    rolled-back change posts nothing, a hook run again writes nothing twice."""
    webhook_deliveries_create(change=change)
