"""Retention (PIPL): personal data is kept as long as the law asks and no longer.

- A closed file keeps its personal data for ``RETENTION_YEARS`` (5: the record-keeping period of the
  anti-money-laundering rules) after it closed; a disbursed loan's period starts when its last
  instalment falls due (the business relationship ends with the loan). Then ``application_anonymise``
  removes the applicant (name, ID and mobile numbers, birth date, employer, income, debts), the
  documents (rows and files) and the history's notes, and unlinks the customer's account. The
  figures (vehicle, amounts, stages and times) stay for the reports, and so does the history's
  chain: since 0026 a note is hashed as a salted digest (``StageEvent.seal_note``), so erasing it
  leaves every hash intact (``verify_history`` accepts an erased note only on an anonymised file).
  A note written before 0026 is inside its event's hash and cannot be erased without breaking the
  chain: it is kept, and the pass counts it.
- An application never submitted is deleted, history and all, ``DRAFT_RETENTION_DAYS`` after its
  last change: it was never a credit record.

Set-based like the expiry pass (``services.expiry``): one pass at a time under an advisory lock,
at most ``batch`` files of each kind, locked with ``SKIP LOCKED`` so a file someone holds is left
for the next pass. Logged as counts, never with personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    ProtectedError,
    Q,
    When,
)
from django.db.models.functions import Coalesce

from ..choices import FINAL_STAGES, Stage
from ..models import Applicant, CorrectionRequest, Document, LoanApplication, StageEvent

logger = logging.getLogger(__name__)

# Any constant shared by every process, other than the SLA clock's and the expiry pass's.
_LOCK_KEY = 5_215_003


@dataclass(frozen=True)
class RetentionPass:
    """What one retention pass did (counts only)."""

    anonymised: int = 0
    documents_removed: int = 0
    notes_erased: int = 0
    legacy_notes_kept: int = 0  # notes inside the hash of events written before 0026
    drafts_deleted: int = 0
    drafts_kept: int = 0  # a draft another record still points to (logged, looked at again)
    more: bool = False  # a batch was full: the next pass goes on
    skipped: bool = False  # another pass held the lock


def _interval(template: str, expression: Any) -> Func:
    """A PostgreSQL ``make_interval(…)`` of a number of months or years, as a duration."""
    return Func(expression, template=template, output_field=DurationField())


def retention_due_condition(*, now: dt.datetime, years: int) -> Q:
    """Submitted files closed for longer than ``years`` (a disbursed loan: counted from its last
    instalment's due date, the payout plus the approved term), not yet anonymised."""
    starts = Case(
        When(
            stage=Stage.DISBURSED,
            then=ExpressionWrapper(
                F("closed_at")
                + _interval("make_interval(months => %(expressions)s)", Coalesce("approved_term_months", 0)),
                output_field=DateTimeField(),
            ),
        ),
        default=F("closed_at"),
        output_field=DateTimeField(),
    )
    ends = ExpressionWrapper(
        starts + _interval("make_interval(years => %(expressions)s)", years), output_field=DateTimeField()
    )
    return Q(
        stage__in=FINAL_STAGES,
        submitted_at__isnull=False,
        closed_at__isnull=False,
        anonymised_at__isnull=True,
    ) & Q(
        pk__in=LoanApplication.objects.alias(retained_until=ends).filter(retained_until__lte=now).values("pk")
    )


def _delete_files_on_commit(names: list[str]) -> None:
    """The stored files go once the rows' removal has committed (a rolled-back pass keeps both)."""
    if not names:
        return
    storage = Document._meta.get_field("file").storage

    def delete() -> None:
        for name in names:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("A document file could not be deleted; it is no longer referenced")

    transaction.on_commit(delete)


def _documents_remove(application_ids: list[int]) -> int:
    documents = Document.objects.filter(application_id__in=application_ids)
    names = {name for name in documents.values_list("file", flat=True) if name}
    count, _ = documents.delete()
    # A stored object another row still names stays (the demo's rows share placeholder files).
    shared = set(Document.objects.filter(file__in=names).values_list("file", flat=True))
    _delete_files_on_commit(sorted(names - shared))
    return count


def application_anonymise(*, application: LoanApplication, now: dt.datetime) -> tuple[int, int, int]:
    """Remove the personal data of one closed file (the caller holds its row lock): the applicant,
    the documents and their files, the sealed notes, the details of correction requests about it,
    and the link to the customer's account. Returns (documents removed, notes erased, notes
    kept because they are inside a hash written before 0026)."""
    Applicant.objects.filter(application=application).delete()
    documents = _documents_remove([application.pk])
    events = StageEvent.objects.filter(application=application).exclude(note="")
    erased = events.exclude(note_digest="").update(note="", note_salt="")
    kept = events.filter(note_digest="").count()
    CorrectionRequest.objects.filter(application=application).update(details="")
    LoanApplication.objects.filter(pk=application.pk).update(customer=None, anonymised_at=now, updated_at=now)
    return documents, erased, kept


def application_delete(*, application: LoanApplication) -> int:
    """Delete an application never submitted, with its history, documents (and files) and
    everything that cascades from it. 1 when deleted; 0 when another record still points to it
    (a back-office record keeps it: logged, the file stays). The caller holds its row lock."""
    try:
        with transaction.atomic():
            StageEvent.objects.filter(application=application).delete()
            _documents_remove([application.pk])
            LoanApplication.objects.filter(pk=application.pk).delete()
    except ProtectedError:
        logger.warning("Unsent application %s is referenced elsewhere and was kept", application.pk)
        return 0
    return 1


def retention_apply(*, now: dt.datetime, batch: int) -> RetentionPass:
    """One retention pass at ``now``: anonymise at most ``batch`` files past their retention period
    and delete at most ``batch`` applications never submitted, in one transaction."""
    years, days = settings.RETENTION_YEARS, settings.DRAFT_RETENTION_DAYS
    with transaction.atomic():
        if not _try_lock():
            return RetentionPass(skipped=True)
        closed = list(
            LoanApplication.objects.filter(retention_due_condition(now=now, years=years))
            .order_by()
            .select_for_update(skip_locked=True, of=("self",))
            .only("pk")[:batch]
        )
        documents = erased = kept = 0
        for application in closed:
            d, e, k = application_anonymise(application=application, now=now)
            documents, erased, kept = documents + d, erased + e, kept + k
        unsent = list(
            LoanApplication.objects.filter(
                submitted_at__isnull=True, updated_at__lte=now - dt.timedelta(days=days)
            )
            .order_by()
            .select_for_update(skip_locked=True, of=("self",))
            .only("pk")[:batch]
        )
        deleted = sum(application_delete(application=app) for app in unsent)
    result = RetentionPass(
        anonymised=len(closed),
        documents_removed=documents,
        notes_erased=erased,
        legacy_notes_kept=kept,
        drafts_deleted=deleted,
        drafts_kept=len(unsent) - deleted,
        more=len(closed) >= batch or (len(unsent) >= batch and deleted > 0),
    )
    # Counts only: no reference, no name, no number.
    logger.info(
        "Retention pass: %s files anonymised (%s documents removed, %s notes erased, %s notes from "
        "before 0026 kept), %s unsent applications deleted (%s kept)",
        result.anonymised,
        result.documents_removed,
        result.notes_erased,
        result.legacy_notes_kept,
        result.drafts_deleted,
        result.drafts_kept,
    )
    return result


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])
