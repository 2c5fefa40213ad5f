"""When a file left waiting on the customer closes by itself: the expiry rules, read from the stage
definitions (configuration data, edited in the admin).

Three kinds of file expire:
- an offer not answered by its reply-by date (``offer_pending``), and a file still waiting for
  documents at its deadline (``awaiting_documents``): both at the stage's ``stage_due_at``, the
  deadline the customer was shown ("Please reply by …"), stored when the stage began from the
  stage's time limit. A change of the time limit applies to stays that begin afterwards: nobody's
  deadline moves under them;
- a draft nobody has changed for ``expires_when_untouched`` (its ``updated_at``): the privacy
  notice promises no deletion of drafts, and the history is never deleted, so a draft expires
  like the others and keeps its data as the notice says of every application.

Each rule may ask for one last reminder ``last_reminder_before`` its expiry. The rules are read at
each pass, so an edit in the admin applies to every waiting file from the next pass on (except the
deadline itself, as above). Everything here is a condition on ``LoanApplication`` columns: the pass
(``services.applications_expire_due``) and the reminders (``notifications``) find their files with
one query whatever their number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Q, QuerySet, Value, When

from .choices import Stage
from .models import LoanApplication, StageDefinition

# Stages the ``expire`` transition leaves, by the clock that closes them.
DEADLINE_STAGES = frozenset({Stage.AWAITING_DOCUMENTS, Stage.OFFER_PENDING})
UNTOUCHED_STAGES = frozenset({Stage.DRAFT})

# The catalogue reason (kind "expiry") the customer is given for each.
EXPIRY_REASONS = {
    Stage.AWAITING_DOCUMENTS: "documents_not_supplied",
    Stage.OFFER_PENDING: "offer_not_accepted",
    Stage.DRAFT: "draft_not_submitted",
}


@dataclass(frozen=True)
class ExpiryRule:
    stage: str
    untouched_for: dt.timedelta | None  # None: the file expires at its deadline (``stage_due_at``)
    last_reminder_before: dt.timedelta | None

    def due(self, now: dt.datetime) -> Q:
        """The files of this rule whose time is up at ``now``."""
        if self.untouched_for is None:
            return Q(stage=self.stage, stage_due_at__lte=now)
        return Q(stage=self.stage, updated_at__lte=now - self.untouched_for)

    def reminder_due(self, now: dt.datetime) -> Q | None:
        """The files of this rule in their last-reminder window at ``now``: expiring within
        ``last_reminder_before``, not yet expired."""
        if self.last_reminder_before is None:
            return None
        if self.untouched_for is None:
            return Q(
                stage=self.stage, stage_due_at__gt=now, stage_due_at__lte=now + self.last_reminder_before
            )
        since = now - self.untouched_for
        return Q(stage=self.stage, updated_at__gt=since, updated_at__lte=since + self.last_reminder_before)


def expiry_rules() -> list[ExpiryRule]:
    """The rules the stage definitions set now (one query); a definition that would expire a stage
    the state machine cannot expire is ignored (the admin refuses to save one)."""
    rules = []
    for stage, at_deadline, untouched, reminder in StageDefinition.objects.filter(
        Q(expires_at_deadline=True) | Q(expires_when_untouched__isnull=False)
    ).values_list("stage", "expires_at_deadline", "expires_when_untouched", "last_reminder_before"):
        if untouched is not None and stage in UNTOUCHED_STAGES:
            rules.append(ExpiryRule(stage, untouched, reminder))
        elif at_deadline and stage in DEADLINE_STAGES:
            rules.append(ExpiryRule(stage, None, reminder))
    return rules


def _any(conditions: list[Q]) -> Q | None:
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined | condition
    return combined


def expiry_due_condition(*, rules: list[ExpiryRule], now: dt.datetime) -> Q | None:
    """The files whose time is up at ``now``; None when no stage expires."""
    return _any([rule.due(now) for rule in rules])


def expiry_reminders_due(*, now: dt.datetime) -> QuerySet[LoanApplication, dict[str, Any]]:
    """The customers' files in their last-reminder window at ``now``: ``id``, ``customer_id``,
    ``stage``, ``expires_at`` (when it will expire) and ``waiting_since`` (the start of the wait the
    reminder is about: the stage's start, or a draft's last change, which a reminder names so that
    it is sent once per wait). Whoever sends the reminders leaves out those already sent."""
    rules = [rule for rule in expiry_rules() if rule.last_reminder_before is not None]
    window = _any([condition for rule in rules if (condition := rule.reminder_due(now)) is not None])
    if window is None:
        return LoanApplication.objects.none().values()
    idle = [rule for rule in rules if rule.untouched_for is not None]
    expires_at = Case(
        *[
            When(
                stage=rule.stage,
                then=ExpressionWrapper(F("updated_at") + Value(rule.untouched_for), DateTimeField()),
            )
            for rule in idle
        ],
        default=F("stage_due_at"),
        output_field=DateTimeField(),
    )
    waiting_since = Case(
        *[When(stage=rule.stage, then=F("updated_at")) for rule in idle],
        default=F("stage_entered_at"),
        output_field=DateTimeField(),
    )
    return (
        LoanApplication.objects.filter(window, customer__isnull=False)
        .order_by()
        .annotate(expires_at=expires_at, waiting_since=waiting_since)
        .values("id", "customer_id", "stage", "expires_at", "waiting_since")
    )
