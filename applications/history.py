"""Checking the tamper-evident history chains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from common.identifiers import canonical_reference, canonical_text

from .choices import EventKind
from .models import GENESIS_HASH, LoanApplication, StageEvent


@dataclass(frozen=True)
class BrokenLink:
    reference: str
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"{self.reference}: event #{self.sequence}: {self.problem}"


def stay_from_chain(
    event: StageEvent, entered: StageEvent | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The stay a transition ends as the chain itself tells it: the time and due time of
    ``entered``, the transition before it in the same history, when that one entered the stage
    this one leaves; (None, None) for other events and for a first transition.

    Migration 0016 filled in the stays of the transitions written before 0015 by this very rule.
    Their hashes were computed without a stay and stay as they were; such an event verifies when
    its hash matches without the stay *and* its stay is the one its chain tells — which the
    chain's own hashes cover. Events written since carry their stay inside their hash.
    """
    if event.kind != EventKind.TRANSITION or entered is None or entered.to_stage != event.from_stage:
        return None, None
    return entered.created_at, entered.due_at


def _hash_holds(reference: str, event: StageEvent, entered: StageEvent | None) -> bool:
    if event.compute_hash(reference) == event.hash:
        return True
    # Written before 0015, its stay filled in afterwards (see ``stay_from_chain``).
    if event.compute_hash(reference, with_stay=False) != event.hash:
        return False
    return (event.stay_started_at, event.stay_due_at) == stay_from_chain(event, entered)


def _check_chain(
    reference: str, head_count: int, head_hash: str, events: list[StageEvent], *, anonymised: bool = False
) -> BrokenLink | None:
    """The first broken link of one application's chain, or None when the chain holds.

    A sealed note (``StageEvent.seal_note``) must match its digest; one erased with its salt is
    accepted only on an ``anonymised`` file (the retention pass erases them): anywhere else an
    erased note is a broken link like any other edit."""
    prev_hash, entered = GENESIS_HASH, None
    for expected_sequence, event in enumerate(events, start=1):
        if event.sequence != expected_sequence:
            return BrokenLink(
                reference, expected_sequence, f"missing (found #{event.sequence} next): deleted or reordered"
            )
        if event.prev_hash != prev_hash:
            return BrokenLink(
                reference, event.sequence, "does not follow the event before it: reordered or replaced"
            )
        if not _hash_holds(reference, event, entered):
            return BrokenLink(reference, event.sequence, "its content no longer matches its hash: edited")
        if not event.note_holds() or (event.note_digest and not event.note_salt and not anonymised):
            return BrokenLink(reference, event.sequence, "its note no longer matches its seal: edited")
        prev_hash = event.hash
        if event.kind == EventKind.TRANSITION:
            entered = event
    if len(events) != head_count or (events and events[-1].hash != head_hash):
        return BrokenLink(
            reference,
            len(events) + 1 if len(events) < head_count else head_count,
            f"the application records {head_count} events ending in {head_hash[:12]}…, "
            f"the history holds {len(events)}: the newest events were deleted or added",
        )
    return None


def verify_chains(
    *, batch_size: int = 500, application_ids: Iterable[int] | None = None
) -> Iterator[tuple[str, BrokenLink | None]]:
    """Yield (reference, first broken link or None) for every application, in id order, or for
    those of ``application_ids`` only (``make load`` checks the files its run touched).

    Streams: one query for a batch of applications and one for their events, so memory stays flat
    over any number of applications.
    """
    columns = ("pk", "reference", "event_count", "history_head", "anonymised_at")
    if application_ids is not None:
        wanted = sorted(set(application_ids))
        for start in range(0, len(wanted), batch_size):
            chosen = wanted[start : start + batch_size]
            batch = list(LoanApplication.objects.filter(pk__in=chosen).order_by("pk").values_list(*columns))
            yield from _verify_batch(batch)
        return
    last_id = 0
    while True:
        batch = list(
            LoanApplication.objects.filter(pk__gt=last_id).order_by("pk").values_list(*columns)[:batch_size]
        )
        if not batch:
            return
        yield from _verify_batch(batch)
        last_id = batch[-1][0]


def _verify_batch(batch: list[tuple]) -> Iterator[tuple[str, BrokenLink | None]]:
    by_application: dict[int, list[StageEvent]] = {pk: [] for pk, *_ in batch}
    events = StageEvent.objects.filter(application_id__in=by_application).order_by(
        "application_id", "sequence", "pk"
    )
    for event in events:
        by_application[event.application_id].append(event)
    for pk, reference, count, head, anonymised_at in batch:
        yield (
            reference,
            _check_chain(reference, count, head, by_application[pk], anonymised=anonymised_at is not None),
        )


def verify_record(*, reference: str, entry: int, fingerprint: str) -> str | None:
    """Check a record a customer kept (the printable offer): the application's whole chain holds,
    and its history entry number ``entry`` carries ``fingerprint``. None when it does; else what
    is wrong, in a sentence for staff. The reference and fingerprint are canonicalised first (the
    dash shown in a reference, case, spaces and full-width characters copied from paper)."""
    code = canonical_reference(reference)
    written = canonical_text(fingerprint).replace(" ", "").lower()
    application = (
        LoanApplication.objects.filter(reference=code)
        .only("event_count", "history_head", "anonymised_at")
        .first()
    )
    if application is None:
        return f"no application has the reference {reference!r}"
    events = list(application.events.order_by("sequence", "pk"))
    link = _check_chain(
        code,
        application.event_count,
        application.history_head,
        events,
        anonymised=application.anonymised_at is not None,
    )
    if link is not None:
        return f"the history is broken: {link}"
    if not 1 <= entry <= len(events):
        return f"{code} has {len(events)} history entries, not {entry}"
    if events[entry - 1].hash != written:
        return f"entry {entry} of {code} has the fingerprint {events[entry - 1].hash}, not {written}"
    return None
