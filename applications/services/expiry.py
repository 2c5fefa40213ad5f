"""Nothing stays open for ever: the expiry pass closes the files whose time is up by the rules of
``applications.expiry`` (an offer past its reply-by date, documents not supplied by the deadline, a
draft left untouched), each through the one transition path (``application_expire``: the event, the
hooks, so the customer gets the decision with its reason).

Set-based like the SLA clock (``services.sla``): one query finds at most ``batch`` due files and
locks them, skipping any a person holds (looked at again next pass); one pass at a time, under an
advisory lock held until the pass's transaction ends. An expired file is final, so a second pass
finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import connection, transaction

from ..expiry import EXPIRY_REASONS, expiry_due_condition, expiry_rules
from ..models import LoanApplication, Reason
from .lifecycle import TransitionError, application_expire

logger = logging.getLogger(__name__)

# Any constant shared by every process, other than the SLA clock's: the expiry pass's advisory lock.
_LOCK_KEY = 5_215_002


@dataclass(frozen=True)
class ExpiryPass:
    """What one expiry pass did."""

    expired: tuple[tuple[int, str], ...] = ()  # (application id, the stage it expired from)
    more: bool = False  # the pass stopped at its batch size: more are waiting for the next one
    skipped: bool = False  # another pass held the lock: nothing was looked at


def applications_expire_due(*, now: dt.datetime, batch: int) -> ExpiryPass:
    """Expire at most ``batch`` files whose time is up at ``now``, in one transaction.

    Each goes through ``application_expire`` with the catalogue reason of its stage (none if an
    operator retired it): a history event, the stage hooks, the customer's decision notice. A file
    the transition refuses (it cannot happen now) is logged and left: it stays due, and is looked at
    again next pass rather than stopping this one."""
    rules = expiry_rules()
    due = expiry_due_condition(rules=rules, now=now)
    if due is None:
        return ExpiryPass()
    expired: list[tuple[int, str]] = []
    with transaction.atomic():
        if not _try_lock():
            return ExpiryPass(skipped=True)
        # The batch is locked here (no order: the due-time index finds it), the rows a person's
        # transition holds skipped; the transition below locks each again, as its own.
        found = list(
            LoanApplication.objects.filter(due)
            .order_by()
            .select_for_update(skip_locked=True, of=("self",))
            .only("pk", "stage")[:batch]
        )
        reasons = (
            Reason.objects.in_bulk([EXPIRY_REASONS[app.stage] for app in found], field_name="code")
            if found
            else {}
        )
        active = {code: reason for code, reason in reasons.items() if reason.is_active}
        for application in found:
            stage = application.stage
            reason = active.get(EXPIRY_REASONS[stage])
            try:
                application_expire(application=application, reason=reason, now=now)
            except TransitionError:
                logger.exception("Application %s could not expire from %s", application.pk, stage)
                continue
            # The file's id, stage and reason only: no personal data in the log.
            logger.info(
                "Application %s expired from %s (%s)", application.pk, stage, reason.code if reason else "-"
            )
            expired.append((application.pk, stage))
    return ExpiryPass(expired=tuple(expired), more=len(found) >= batch)


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])
