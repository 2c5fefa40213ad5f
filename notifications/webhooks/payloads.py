"""Which webhook events a history event is, and the body each is posted with.

The body speaks the customer's words (the stage titles of the stage definitions, the milestones,
the transition registry's ``customer_words``, the reason catalogue's customer text), in both of
the portal's languages, and carries no personal data: the file is named by its reference, the
dealership by its code, and nothing about the buyer is in it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.utils import translation
from django.utils.functional import Promise

from applications.choices import EventKind, Stage, milestone_of
from applications.hooks import StageChange
from applications.reference import ReferenceData
from applications.transitions import TRANSITIONS, Notice

from .choices import WebhookEvent

# uuid5 namespace of event ids: the same history event and type always give the same id.
EVENT_NAMESPACE = uuid.UUID("6f1c2b0e-3f7d-5a8e-9c41-2d7b8e5f0a13")
LANGUAGES = ("zh-hans", "en")


def event_types(change: StageChange) -> list[WebhookEvent]:
    """The webhook events of a history event: every stage change is ``stage_changed``; some are
    also documents requested, an offer ready or the loan disbursed. The draft's creation is none."""
    meaning = TRANSITIONS.get(change.transition)
    if change.kind != EventKind.TRANSITION or meaning is None:
        return []
    types = [WebhookEvent.STAGE_CHANGED]
    if meaning.notice == Notice.DOCUMENTS_REQUESTED:
        types.append(WebhookEvent.DOCUMENTS_REQUESTED)
    if meaning.notice == Notice.OFFER_READY:
        types.append(WebhookEvent.OFFER_READY)
    if change.to_stage == Stage.DISBURSED:
        types.append(WebhookEvent.DISBURSED)
    return types


def event_id(change: StageChange, event_type: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{change.application_id}:{change.sequence}:{event_type}")


def utc_iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the millisecond: ``2026-12-05T05:45:36.123Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _both(text: Promise | str) -> dict[str, str]:
    words = {}
    for language in LANGUAGES:
        with translation.override(language):
            words[language] = str(text)
    return words


def _stage(code: str, reference: ReferenceData) -> dict[str, Any] | None:
    if not code:
        return None
    definition = reference.definitions.get(code)
    if definition is not None:
        title = {"zh-hans": definition.title_zh_hans, "en": definition.title_en or definition.title_zh_hans}
    else:
        title = _both(Stage(code).label)
    return {"code": code, "title": title}


def payload(
    *,
    change: StageChange,
    event_type: str,
    application_reference: str,
    dealer_code: str,
    reference: ReferenceData,
) -> dict[str, Any]:
    milestone = milestone_of(change.to_stage)
    reason = reference.reasons.get(change.reason_code) if change.reason_code else None
    data: dict[str, Any] = {
        "application": {"reference": application_reference, "dealer": dealer_code},
        "sequence": change.sequence,
        "stage": _stage(change.to_stage, reference),
        "previous_stage": _stage(change.from_stage, reference),
        "milestone": (
            {"number": milestone.number, "title": _both(milestone.title)} if milestone is not None else None
        ),
        "what_happened": _both(TRANSITIONS[change.transition].customer_words),
        "reason": (
            {"code": reason.code, "text": {"zh-hans": reason.text_zh_hans, "en": reason.text_en}}
            if reason is not None
            else None
        ),
    }
    if event_type == WebhookEvent.DOCUMENTS_REQUESTED:
        data["documents"] = [
            {"code": code, "name": _document_name(code, reference)}
            for code in change.data.get("documents", ())
        ]
    return {
        "id": str(event_id(change, event_type)),
        "type": str(event_type),
        "occurred_at": utc_iso(change.created_at),
        "data": data,
    }


def _document_name(code: str, reference: ReferenceData) -> dict[str, str]:
    document_type = reference.document_types.get(code)
    if document_type is None:
        return dict.fromkeys(LANGUAGES, code)
    return {"zh-hans": document_type.name_zh_hans, "en": document_type.name_en or document_type.name_zh_hans}


def body_of(document: dict[str, Any]) -> str:
    """The text posted: compact JSON in UTF-8 (Chinese as is), keys in the order written."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
