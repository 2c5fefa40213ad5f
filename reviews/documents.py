"""Staff opening a file's documents (the ID card's images, payslips): for files in their scope only
(``reviews.permissions``), each opening logged beside "show in full" (``PiiAccessLog``, kind
``document``: who, which document of which application, when).

The customer site serves a customer their own documents (``applications.views.documents``); staff
open them through the back office's document view (``admin/documents.py``), which calls these.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from django.utils import timezone

from applications.models import Document, LoanApplication

from .choices import AccessKind
from .models import PiiAccessLog

if TYPE_CHECKING:
    from accounts.models import User

VIEW_PERMISSION = "applications.view_document"


def document_of(*, application: LoanApplication, public_id: uuid.UUID, user: User) -> Document | None:
    """The application's document with this public id, for a user allowed to open documents (the
    caller has checked the application is in their scope); None otherwise, as for no document."""
    if not user.has_perm(VIEW_PERMISSION):
        return None
    return application.documents.select_related("document_type").filter(public_id=public_id).first()


def document_open_record(*, document: Document, actor: User, now: dt.datetime | None = None) -> PiiAccessLog:
    """One access-log row: ``actor`` opened ``document`` (of its application) at ``now``."""
    return PiiAccessLog.objects.create(
        user=actor,
        application_id=document.application_id,
        document=document,
        field=AccessKind.DOCUMENT,
        viewed_at=now or timezone.now(),
    )
