"""The documents of a demo application: what was uploaded when, what the reviewer asked for, accepted
or rejected, as ``services.documents`` leaves them; and one placeholder image per document type."""

from __future__ import annotations

import datetime as dt
import random
import struct
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from applications.choices import DocumentStatus, EventKind

from .chance import between
from .routes import Step

# A reviewer's document request: reason -> the document type asked for, and whether it replaces one
# on file (which the reviewer then rejects with that reason).
DOCUMENT_REQUESTS = {
    "more_income_proof": ("bank_statement", False),
    "photo_unreadable": ("id_card_front", True),
    "document_expired": ("id_card_back", True),
    "information_mismatch": ("income_proof", True),
}
DOCUMENT_FILE_NAMES = {
    "id_card_front": "身份证人像面.png",
    "id_card_back": "身份证国徽面.png",
    "driving_licence": "驾驶证.png",
    "income_proof": "收入证明.png",
    "bank_statement": "银行流水.png",
    "vehicle_invoice": "机动车销售统一发票.png",
}


def _png(width: int, height: int, fill: tuple[int, int, int], frame: tuple[int, int, int]) -> bytes:
    """A small framed PNG built by hand: demo documents need a viewable file, not a real scan."""
    border = 6
    edge = bytes(frame) * width
    middle = bytes(frame) * border + bytes(fill) * (width - 2 * border) + bytes(frame) * border
    rows = [edge if y < border or y >= height - border else middle for y in range(height)]
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def placeholder_files(codes: Sequence[str]) -> dict[str, tuple[str, int]]:
    """One shared image per document type under ``documents/demo/``: code -> (file name, size).

    The size is the image's, not the stored object's (the storage seals it, which adds a header)."""
    files = {}
    for number, code in enumerate(sorted(codes)):
        name = f"documents/demo/{code}.png"
        tint = 200 + (number * 9) % 50
        image = _png(320, 200, (245, 245, tint), (120, 130, 150))
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(image))
        files[code] = (name, len(image))
    return files


@dataclass
class PlannedDocument:
    code: str
    uploaded_at: dt.datetime
    uploaded_by: Any
    public_id: uuid.UUID
    status: str = DocumentStatus.PENDING
    reviewed_by: Any = None
    reviewed_at: dt.datetime | None = None
    rejection_reason: str = ""


@dataclass(frozen=True)
class Papers:
    """A file's documents and the reviewer's requests (type, reason, time, reviewer), and what the
    pre-check found missing."""

    documents: list[PlannedDocument]
    requests: list[tuple[str, str, dt.datetime, Any]]
    missing_at_check: list[str]


def papers_plan(
    rng: random.Random,
    now: dt.datetime,
    path: list[str],
    times: list[dt.datetime],
    *,
    review_documents: list[str],
    document_requests: dict[str, tuple[str, bool]],
    uploader: Any,
    reviewer: Any,
    auto_resume: bool,
) -> Papers:
    """The documents on file and the reviewer's requests along ``path`` (at ``times``).

    Uploads happen only while review is open (``UPLOAD_STAGES``): the review documents before
    submission, or after a pre-check that found them missing; a requested type after the request.
    A resumed review has everything on file (``has_no_missing_documents``), and when the file has
    a customer account the last owed upload resumes it at that instant, in their name, as the
    upload service does. A request still open has nothing uploaded since. What the reviewer saw
    is accepted before the recommendation; a document a request replaces is rejected with it.
    """
    n = len(path)
    documents: list[PlannedDocument] = []
    requests: list[tuple[str, str, dt.datetime, Any]] = []
    missing_at_check: list[str] = []

    def upload(code: str, start: dt.datetime, end: dt.datetime, *, at: dt.datetime | None = None) -> None:
        public_id = uuid.uuid4()  # random even with a seed: a second run must not repeat it
        documents.append(PlannedDocument(code, at or between(rng, start, end), uploader, public_id))

    def owed(codes: list[str], start: int) -> None:
        """Upload what a stay in awaiting documents owes; resumed (or not yet) at ``start + 1``."""
        if start + 1 < n and path[start + 1] == "resume_review":
            end = times[start + 1]
            for number, code in enumerate(rng.sample(codes, len(codes)), start=1):
                upload(code, times[start], end, at=end if auto_resume and number == len(codes) else None)
        elif start + 1 == n and len(codes) > 1:  # still waiting: some of it may be in already
            for code in rng.sample(codes, rng.randint(0, len(codes) - 1)):
                upload(code, times[start], now)

    review = review_documents
    if n == 1:
        for code in rng.sample(review, rng.randint(0, len(review))):
            upload(code, times[0], now)
        return Papers(documents, requests, missing_at_check)
    if "precheck_needs_documents" in path:
        p = path.index("precheck_needs_documents")
        before = rng.sample(review, rng.randint(0, max(len(review) - 1, 0)))
        missing_at_check = sorted(set(review) - set(before))
        for code in before:
            upload(code, times[0], times[1])
        owed(missing_at_check, p)
    else:
        for code in review:
            upload(code, times[0], times[1])

    for q, name in enumerate(path):
        if name != "request_documents":
            continue
        reason_code = rng.choice(sorted(document_requests))
        code, replaces = document_requests[reason_code]
        if replaces:
            for document in reversed(documents):
                if document.code == code and document.status != DocumentStatus.REJECTED:
                    document.status, document.rejection_reason = DocumentStatus.REJECTED, reason_code
                    document.reviewed_by, document.reviewed_at = reviewer, times[q]
                    break
        requests.append((code, reason_code, times[q], reviewer))
        owed([code], q)

    if "recommend_approval" in path:
        r = path.index("recommend_approval")
        # The reviewer checks the documents during the stay in review that ends in the recommendation.
        entered = times[max(i for i in range(r) if path[i] in ("pass_precheck", "resume_review"))]
        for document in documents:
            if document.status == DocumentStatus.PENDING and document.uploaded_at < times[r]:
                document.status, document.reviewed_by = DocumentStatus.ACCEPTED, reviewer
                document.reviewed_at = between(rng, max(entered, document.uploaded_at), times[r])
    return Papers(documents, requests, missing_at_check)


def with_document_events(transitions: list[Step], documents: list[PlannedDocument]) -> list[Step]:
    """The transitions with each upload and verdict in time order, as ``services.documents``
    records them (at the stage of the moment). At the same instant a document event comes first:
    the upload that resumes review, the rejection that goes with a request."""
    events = []
    for d in documents:
        about = {"document": str(d.public_id), "type": d.code}
        events.append(Step("", "", "", d.uploaded_at, d.uploaded_by, data={"action": "uploaded", **about}))
        if d.reviewed_at is not None:
            verdict = "accepted" if d.status == DocumentStatus.ACCEPTED else "rejected"
            events.append(
                Step(
                    "",
                    "",
                    "",
                    d.reviewed_at,
                    d.reviewed_by,
                    reason=d.rejection_reason,
                    data={"action": verdict, **about},
                )
            )
    for event in events:
        event.kind = EventKind.DOCUMENT.value
    merged = sorted([*transitions, *events], key=lambda step: (step.at, step.kind != EventKind.DOCUMENT))
    stage = ""
    for step in merged:
        if step.kind == EventKind.DOCUMENT:
            step.from_stage = step.to_stage = stage
        else:
            stage = step.to_stage
    return merged
