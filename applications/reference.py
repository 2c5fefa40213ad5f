"""The configuration every timeline reads: stage definitions, document types and the reason
catalogue, from the shared cache instead of three queries a page.

These tables change when a manager edits them in the admin, a few times a year; the pages that read
them are the busiest of the site. So they are loaded together (3 queries), kept in the cache, and
dropped whenever one of their rows changes.

Invalidation is by version, so that it is correct across processes and against a page that was
loading while the change committed: a change stores a new version token (on commit), and the cached
copy carries the token that was current when its load began. A copy whose token is not the current
one is never used; a load that raced with a change stores its copy under the old token, and the next
reader loads again. Readers fetch the token and the copy in one round trip. Changes that bypass the
models' signals (``QuerySet.update``, raw SQL) are picked up within ``TIMEOUT``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef

from .models import DOCUMENTS_STAGE, DocumentType, Reason, StageDefinition

VERSION_KEY = "applications:reference:version"
DATA_KEY = "applications:reference:data"
TIMEOUT = 15 * 60  # seconds: the longest a change made without signals goes unseen


@dataclass(frozen=True)
class ReferenceData:
    version: str
    definitions: dict[str, StageDefinition]  # by stage
    document_types: dict[str, DocumentType]  # by code, each with ``required_for_review``
    reasons: dict[str, Reason]  # by code, the whole catalogue (inactive entries too: old events name them)


def _load(version: str) -> ReferenceData:
    required = StageDefinition.required_document_types.through.objects.filter(
        stagedefinition__stage=DOCUMENTS_STAGE, documenttype=OuterRef("pk")
    )
    return ReferenceData(
        version=version,
        definitions={d.stage: d for d in StageDefinition.objects.all()},
        document_types={
            t.code: t for t in DocumentType.objects.annotate(required_for_review=Exists(required))
        },
        reasons={r.code: r for r in Reason.objects.all()},
    )


def reference_data() -> ReferenceData:
    """The current configuration: one cache round trip, or 3 queries when it changed or expired."""
    found = cache.get_many([VERSION_KEY, DATA_KEY])
    version = found.get(VERSION_KEY)
    data = found.get(DATA_KEY)
    if version is None:
        # First use, or the cache was emptied: start a version (another process may just have).
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    if data is not None and data.version == version:
        return data
    data = _load(version)
    cache.set(DATA_KEY, data, timeout=TIMEOUT)
    return data


def reference_data_changed(**kwargs) -> None:
    """Signal receiver: once the change commits, no cached copy from before it is used again."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None))


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in (StageDefinition, DocumentType, Reason):
        uid = f"applications.reference.{model.__name__}"
        post_save.connect(reference_data_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(reference_data_changed, sender=model, dispatch_uid=f"{uid}.delete")
    m2m_changed.connect(
        reference_data_changed,
        sender=StageDefinition.required_document_types.through,
        dispatch_uid="applications.reference.required_documents",
    )
