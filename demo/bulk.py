"""The demo's bulk path (``seed_demo``, up to a million applications for ``make bench``): stories
planned by ``demo.stories`` become rows, hashed into the same chain the services write, and are
streamed into the tables by ``demo.rows``.

Planning, hashing and encryption are pure Python and take most of the time, so batches are prepared
in worker processes while the main process inserts them, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from applications.choices import FINAL_STAGES, EventKind, income_band_of
from applications.models import (
    GENESIS_HASH,
    Applicant,
    Consent,
    Dealer,
    Document,
    DocumentRequest,
    LoanApplication,
    StageEvent,
)
from applications.services.sla import sla_advance
from common.pii import keyed_hash

from .documents import DOCUMENT_FILE_NAMES
from .rows import PreparedRows, checks_set_aside, prepare_rows, write_rows
from .stories import Planner, Spec

# Files the seed's SLA pass changes per statement (``clock_catch_up``).
CLOCK_BATCH = 50_000


@dataclass
class GenerationResult:
    applications: int = 0
    events: int = 0
    documents: int = 0
    buyer_accounts: int = 0
    by_stage: Counter = field(default_factory=Counter)
    seed: int = 0  # pass it back as ``seed`` to generate the same mix again
    rebuild_seconds: float = 0.0  # putting back the indexes and foreign keys after a bulk load


@dataclass
class PreparedBatch:
    references: list[str]
    applications: PreparedRows
    children: list[PreparedRows]  # their application_id holds the application's index in the batch
    stages: Counter


class _EventRow(SimpleNamespace):
    """A history row before insertion, hashed by ``StageEvent``'s own canonical form and hash.

    Why not a ``StageEvent`` instance: a million model constructions cost more than the rest of the
    event work together. The methods are the model's very functions, so the hash is byte for byte
    what ``services.event_record`` computes and ``verify_history`` checks.
    """

    canonical = StageEvent.canonical
    compute_hash = StageEvent.compute_hash
    seal_note = StageEvent.seal_note


def buyers_insert(planner: Planner, specs: Sequence[Spec]) -> int:
    """Create the walk-in buyers' accounts (in the customer group) and note their ids."""
    buyers = {spec.buyer.username: spec.buyer for spec in specs if spec.buyer is not None}
    if not buyers:
        return 0
    user_model = get_user_model()
    rows = [
        {"username": b.username, "first_name": b.first_name, "last_name": b.last_name}
        | {"password": planner.unusable_password}
        for b in buyers.values()
    ]
    for start in range(0, len(rows), 5000):
        write_rows(prepare_rows(user_model, rows[start : start + 5000]))
    names = list(buyers)
    for start in range(0, len(names), 5000):
        chunk = names[start : start + 5000]
        for username, pk in user_model.objects.filter(username__in=chunk).values_list("username", "pk"):
            buyers[username].pk = pk
    membership = user_model.groups.through
    group_id = planner.customer_group.pk
    write_rows(prepare_rows(membership, [{"user_id": b.pk, "group_id": group_id} for b in buyers.values()]))
    return len(buyers)


def batch_prepare(planner: Planner, specs: Sequence[Spec], rng: random.Random) -> PreparedBatch:
    """Plan a batch and turn it into database-ready rows: everything but the inserts.

    This is the CPU-heavy part (planning, hashing, encryption, value conversion), so it may run in
    a worker process; the application ids the rows point to are filled in by ``batch_write``.
    """
    planner.rng = rng
    bundles = [planner.bundle(spec) for spec in specs]
    events: list[dict[str, Any]] = []
    applicants, consents, requests, documents = [], [], [], []
    version = settings.PRIVACY_NOTICE_VERSION
    for index, bundle in enumerate(bundles):
        reference, head, person = bundle.application["reference"], GENESIS_HASH, bundle.person
        entered = ("", None, None)  # the current stage: (stage, entered at, due at)
        for sequence, step in enumerate(bundle.steps, start=1):
            # A transition records when the stage it enters is due, and the stay it ends (when
            # the stage it leaves was entered and due), as the service does.
            transition = step.kind == EventKind.TRANSITION
            limit = planner.sla.get(step.to_stage) if transition else None
            due_at = step.at + limit if limit is not None and step.to_stage not in FINAL_STAGES else None
            stay = entered[1:] if transition and entered[0] == step.from_stage else (None, None)
            event = _EventRow(
                application_id=index,
                sequence=sequence,
                kind=step.kind,
                transition=step.name,
                from_stage=step.from_stage,
                to_stage=step.to_stage,
                actor_id=step.actor.pk if step.actor is not None else None,
                created_at=step.at,
                note=step.note,
                note_digest="",
                note_salt="",
                reason_code=step.reason,
                data=step.data,
                due_at=due_at,
                stay_started_at=stay[0],
                stay_due_at=stay[1],
                prev_hash=head,
            )
            event.seal_note()  # as ``services.event_record`` does: the hash covers its digest
            event.hash = head = event.compute_hash(reference)
            events.append(event.__dict__)
            if transition:
                entered = (step.to_stage, step.at, due_at)
        bundle.application.update(event_count=len(bundle.steps), history_head=head)
        applicants.append(
            {
                "application_id": index,
                "full_name": person.full_name,
                "id_number": person.id_number,
                "id_number_hash": person.id_number_hash,
                "birth_date": person.birth_date,
                "phone": person.phone,
                "phone_hash": keyed_hash(person.phone),
                "employment": person.employment,
                "employer": person.employer,
                "monthly_income": person.monthly_income,
                "income_band": income_band_of(person.monthly_income),
                "monthly_debt": person.monthly_debt,
            }
        )
        if bundle.consented_at is not None:
            consents += [
                {
                    "application_id": index,
                    "kind": kind,
                    "notice_version": version,
                    "granted_at": bundle.consented_at,
                    "granted_by_id": bundle.creator.pk,
                }
                for kind in Consent.Kind.values
            ]
        requests += [
            {
                "application_id": index,
                "document_type_id": planner.doc_type_ids[code],
                "reason_id": planner.reason_ids[reason_code],
                "requested_at": at,
                "requested_by_id": by.pk,
            }
            for code, reason_code, at, by in bundle.requests
        ]
        documents += [
            {
                "application_id": index,
                "public_id": d.public_id,
                "document_type_id": planner.doc_type_ids[d.code],
                "file": planner.files[d.code][0],
                "original_name": DOCUMENT_FILE_NAMES.get(d.code, f"{d.code}.png"),
                "content_type": "image/png",
                "size": planner.files[d.code][1],
                "status": d.status,
                "rejection_reason_id": planner.reason_ids[d.rejection_reason] if d.rejection_reason else None,
                "uploaded_by_id": d.uploaded_by.pk,
                "uploaded_at": d.uploaded_at,
                "reviewed_by_id": d.reviewed_by.pk if d.reviewed_by is not None else None,
                "reviewed_at": d.reviewed_at,
            }
            for d in bundle.documents
        ]
    return PreparedBatch(
        references=[b.application["reference"] for b in bundles],
        applications=prepare_rows(LoanApplication, [b.application for b in bundles]),
        children=[
            prepare_rows(model, rows)
            for model, rows in (
                (Applicant, applicants),
                (Consent, consents),
                (StageEvent, events),
                (DocumentRequest, requests),
                (Document, documents),
            )
        ],
        stages=Counter(b.application["stage"] for b in bundles),
    )


def batch_write(batch: PreparedBatch, result: GenerationResult) -> None:
    """Insert a prepared batch: the applications, then their rows with the new ids filled in."""
    write_rows(batch.applications)
    ids = dict(LoanApplication.objects.filter(reference__in=batch.references).values_list("reference", "pk"))
    pks = [ids[reference] for reference in batch.references]
    for table in batch.children:
        table.link(pks)
        write_rows(table)
    counts = {table.model: len(table) for table in batch.children}
    result.applications += len(batch.references)
    result.events += counts[StageEvent._meta.label]
    result.documents += counts[Document._meta.label]
    result.by_stage.update(batch.stages)


# The planner a forked worker process inherits (set just before the pool starts).
_WORKER_PLANNER: Planner | None = None


def _prepare_in_worker(job: tuple[list[Spec], str]) -> PreparedBatch:
    specs, seed = job
    assert _WORKER_PLANNER is not None
    return batch_prepare(_WORKER_PLANNER, specs, random.Random(seed))


def _prepared_batches(
    planner: Planner, jobs: list[tuple[list[Spec], str]], workers: int
) -> Iterator[PreparedBatch]:
    """Prepared batches in order; made by ``workers`` forked processes when there are several.

    Why processes: preparing is pure Python and takes most of the time, so on a multi-core machine
    workers prepare the next batches while this process inserts. They inherit the loaded
    configuration by ``fork`` and never touch the database connection. At most two batches per
    worker wait in memory.
    """
    global _WORKER_PLANNER
    if workers <= 1 or len(jobs) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for specs, seed in jobs:
            yield batch_prepare(planner, specs, random.Random(seed))
        return
    _WORKER_PLANNER = planner
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            waiting = iter(jobs)
            pending = deque(
                pool.apply_async(_prepare_in_worker, (job,)) for job in islice(waiting, 2 * workers)
            )
            while pending:
                batch = pending.popleft().get()
                for job in islice(waiting, 1):
                    pending.append(pool.apply_async(_prepare_in_worker, (job,)))
                yield batch
    finally:
        _WORKER_PLANNER = None


def _written_models() -> list[type[models.Model]]:
    """The tables a generation writes to: their checks are what ``bulk_load`` sets aside."""
    user_model = get_user_model()
    return [
        user_model,
        user_model.groups.through,
        LoanApplication,
        Applicant,
        Consent,
        StageEvent,
        DocumentRequest,
        Document,
    ]


def demo_applications_generate(
    *,
    count: int,
    users: dict[str, Any],
    dealers: dict[str, Dealer],
    customer_files: bool = True,
    seed: int | None = None,
    now: dt.datetime | None = None,
    batch_size: int = 2000,
    workers: int = 1,
    bulk_load: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> GenerationResult:
    """Generate ``count`` applications with their applicants, consents, documents and histories.

    One transaction for the lot: an interrupted run leaves nothing behind, so the next start does
    not mistake half a demo for a finished one. ``customer_files`` adds the demo customers' own
    files (the first run); ``seed`` makes the data reproducible (the references stay random);
    ``workers`` > 1 prepares batches in that many processes; ``bulk_load`` (PostgreSQL) sets the
    written tables' foreign keys and plain indexes aside until the end (``rows.checks_set_aside``),
    for large seeds of a database nobody else is using.
    """
    seed = random.randrange(2**32) if seed is None else seed
    planner = Planner(users=users, dealers=dealers, now=now or timezone.now(), rng=random.Random(seed))
    specs = planner.specs(count, customer_files=customer_files)
    jobs = [
        (specs[start : start + batch_size], f"{seed}:{start}") for start in range(0, len(specs), batch_size)
    ]
    result = GenerationResult(seed=seed)
    with transaction.atomic():
        with checks_set_aside(_written_models()) if bulk_load else nullcontext():
            result.buyer_accounts = buyers_insert(planner, specs)
            for batch in _prepared_batches(planner, jobs, workers):
                batch_write(batch, result)
                if on_progress is not None:
                    on_progress(len(batch.references))
            rebuild_started = time.perf_counter()
        result.rebuild_seconds = time.perf_counter() - rebuild_started
        clock_catch_up(planner.now)
    return result


def clock_catch_up(now: dt.datetime) -> None:
    """The seeded files' SLA state as beat's sweeps would have left it by ``now``: at risk, breached,
    escalated again, an overdue stage's cause recorded (``sla_advance``, the core's one writer of
    them). The notices those passes sent belong to the past and are not written: a seeded book
    starts with no backlog for beat (``make load`` measures the portal, not a catch-up)."""
    while sla_advance(now=now, batch=CLOCK_BATCH).more:
        pass
