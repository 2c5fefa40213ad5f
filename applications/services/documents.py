"""Documents: the customer's uploads and the staff's verdict on each.

An upload is judged by its first bytes, never by its name or the content type the browser declares:
a text file named ``payslip.pdf`` is refused. It is stored under a generated name below MEDIA_ROOT
(``Document.file``'s ``upload_to``; sealed with its own key by the storage, ``common.storage``), written to the history as a ``document`` event, and when it was
the last document the customer owed, review resumes in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import DocumentStatus, EventKind, ReasonKind, Stage
from ..models import DOCUMENTS_STAGE, Document, DocumentType, LoanApplication, Reason
from .lifecycle import TransitionRefused, application_event_add, refuse_if_held_by_another, review_resume

if TYPE_CHECKING:
    from accounts.models import User

# The formats we accept, by their signatures ("magic bytes") and the content type we record.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

# Until the review is over the customer may add or replace documents; afterwards the file is fixed.
UPLOAD_STAGES = frozenset(
    {Stage.DRAFT, Stage.SUBMITTED, Stage.CREDIT_CHECK, Stage.UNDER_REVIEW, Stage.AWAITING_DOCUMENTS}
)


def sniff_content_type(head: bytes) -> str | None:
    """The content type the file's first bytes announce, or None when it is none we accept."""
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def document_types_for(application: LoanApplication) -> list[DocumentType]:
    """Every type the customer may upload for this application: those review requires and those a
    reviewer asked for, ordered by code."""
    types = {t.pk: t for t in DocumentType.objects.filter(stagedefinition__stage=DOCUMENTS_STAGE)}
    for request in application.document_requests.select_related("document_type"):
        types.setdefault(request.document_type_id, request.document_type)
    return sorted(types.values(), key=lambda doc_type: doc_type.code)


@dataclass(frozen=True)
class ChecklistItem:
    document_type: DocumentType
    newest: Document | None  # the latest upload of this type, whatever its status
    missing: bool  # still owed: nothing pending or accepted (a rejected upload must be replaced)


def document_checklist(
    application: LoanApplication, *, types: list[DocumentType] | None = None
) -> list[ChecklistItem]:
    """What the customer's checklist shows: each type with its newest document (a read, beside the
    writes it explains): 4 queries, 2 more unless the caller has ``document_types_for`` already."""
    newest: dict[int, Document] = {}
    for document in application.documents.select_related("rejection_reason").order_by("uploaded_at"):
        newest[document.document_type_id] = document
    missing = {doc_type.pk for doc_type in application.missing_document_types()}
    return [
        ChecklistItem(doc_type, newest.get(doc_type.pk), doc_type.pk in missing)
        for doc_type in (types if types is not None else document_types_for(application))
    ]


def upload_check(uploaded_file: UploadedFile, *, field: str = "file") -> tuple[str, int]:
    """The content type and size of an upload we accept, judged by its first bytes: a PDF, JPEG or
    PNG of at most ``settings.DOCUMENT_MAX_BYTES``. Refuses anything else with a ``ValidationError``
    on ``field``. Documents and the attachments of questions both pass through here."""
    limit_mb = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
    size = uploaded_file.size or 0  # Django's uploads always know their size (the type allows None)
    if size > settings.DOCUMENT_MAX_BYTES:
        raise ValidationError(
            {field: _("This file is larger than %(limit)s MB. Upload a smaller file.") % {"limit": limit_mb}},
            code="too_large",
        )
    if size == 0:
        raise ValidationError({field: _("This file is empty.")}, code="empty")
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            {field: _("Upload a PDF, JPEG or PNG file. This file is none of these, whatever its name says.")},
            code="file_type",
        )
    return content_type, size


def clean_original_name(name: str | None) -> str:
    """The customer's file name, kept for display and the download only: no path, no control
    characters, at most 200 characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[-200:] or "document"


def document_upload(
    *,
    application: LoanApplication,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    actor: User,
    now: dt.datetime | None = None,
) -> Document:
    """Store one document of ``document_type`` for the application.

    Refuses (``ValidationError`` on ``file``) a file over ``settings.DOCUMENT_MAX_BYTES``, one
    that is not a PDF, JPEG or PNG by content, or one past the application's quota
    (``_check_quota``); refuses (``TransitionRefused``) once review is over.
    """
    now = now or timezone.now()
    if application.stage not in UPLOAD_STAGES:
        raise TransitionRefused(_("Documents can no longer be added to this application."))
    if document_type not in document_types_for(application):
        raise ValidationError({"file": _("This application does not need this document.")})
    return document_store(
        application=application,
        document_type=document_type,
        uploaded_file=uploaded_file,
        actor=actor,
        now=now,
    )


def document_store(
    *,
    application: LoanApplication,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    actor: User,
    now: dt.datetime,
) -> Document:
    """The checks every upload passes (content, size, quota) and the storing, once the caller has
    decided who may upload which type at this stage: ``document_upload`` for the customer's
    checklist, ``services.dealer.dealer_document_upload`` for the documents a dealer holds."""
    content_type, size = upload_check(uploaded_file)

    document = Document(
        application=application,
        document_type=document_type,
        original_name=clean_original_name(uploaded_file.name),
        content_type=content_type,
        size=size,
        uploaded_by=actor,
        uploaded_at=now,
    )
    with transaction.atomic():
        # upload_to gives the stored file a random name; the customer's name is only recorded.
        document.file.save("upload", uploaded_file, save=False)
        try:
            _check_quota(application=application, document_type=document_type, size=size)
            document.save(force_insert=True)
            application_event_add(
                application=application,
                kind=EventKind.DOCUMENT,
                actor=actor,
                data={"action": "uploaded", "document": str(document.public_id), "type": document_type.code},
                now=now,
            )
            _resume_review_when_complete(application=application, now=now)
        except BaseException:
            document.file.delete(save=False)  # nothing on disk for a row that never was
            raise
    return document


def _check_quota(*, application: LoanApplication, document_type: DocumentType, size: int) -> None:
    """At most ``DOCUMENT_QUOTA_FILES_PER_TYPE`` files of a type and ``DOCUMENT_QUOTA_TOTAL_BYTES``
    in all per application, whatever their status (a rejected file is still stored).

    Counted under the application's row lock, so two uploads at once cannot both take the last
    place; the lock is taken after the file is stored (a slow bucket never holds the row), and
    the caller deletes the file when this refuses.
    """
    list(LoanApplication.objects.select_for_update().filter(pk=application.pk).values_list("pk"))
    on_file = Document.objects.filter(application=application).aggregate(
        total=Sum("size", default=0), same_type=Count("pk", filter=Q(document_type=document_type))
    )
    most = settings.DOCUMENT_QUOTA_FILES_PER_TYPE
    if on_file["same_type"] >= most:
        raise ValidationError(
            {
                "file": _(
                    "This application already holds %(count)s files of “%(document)s”, the most we "
                    "keep for one document. To send another, please contact customer service."
                )
                % {"count": most, "document": document_type}
            },
            code="quota_files",
        )
    limit = settings.DOCUMENT_QUOTA_TOTAL_BYTES
    if on_file["total"] + size > limit:
        megabyte = 1024 * 1024
        raise ValidationError(
            {
                "file": _(
                    "With this file the documents of this application would take more than "
                    "%(limit)s MB in all (%(used)s MB are on file). Upload a smaller file, for "
                    "example a photo at a lower resolution, or contact customer service."
                )
                % {"limit": limit // megabyte, "used": f"{on_file['total'] / megabyte:.1f}"}
            },
            code="quota_size",
        )


def _resume_review_when_complete(*, application: LoanApplication, now: dt.datetime) -> None:
    """Back to review once nothing is owed: in the customer's name, as if they had pressed it."""
    current = LoanApplication.objects.select_related("customer").get(pk=application.pk)
    if current.stage != Stage.AWAITING_DOCUMENTS or current.customer is None:
        return
    if current.missing_document_types():
        return
    review_resume(application=current, actor=current.customer, now=now)


# --- The staff's verdict ------------------------------------------------------------------------


def _review(
    *, document: Document, actor: User, status: str, reason: Reason | None, now: dt.datetime | None
) -> Document:
    if not actor.has_perm("applications.change_document"):
        raise PermissionDenied(_("Only reviewing staff may accept or reject documents."))
    now = now or timezone.now()
    with transaction.atomic():
        # The application first (the order every writer locks in), then whose it is: staff claim
        # a colleague's file before judging its documents, as before any transition.
        application = LoanApplication.objects.select_for_update(of=("self",)).get(pk=document.application_id)
        refuse_if_held_by_another(application=application, actor=actor)
        locked = (
            Document.objects.select_for_update(of=("self",))
            .select_related("document_type")
            .get(pk=document.pk)
        )
        if locked.status != DocumentStatus.PENDING:
            raise TransitionRefused(
                _("This document has already been checked: %(status)s.")
                % {"status": locked.get_status_display()}
            )
        locked.status = status
        locked.rejection_reason = reason
        locked.reviewed_by = actor
        locked.reviewed_at = now
        locked.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
        application_event_add(
            application=locked.application,
            kind=EventKind.DOCUMENT,
            actor=actor,
            reason_code=reason.code if reason else "",
            data={
                "action": "accepted" if status == DocumentStatus.ACCEPTED else "rejected",
                "document": str(locked.public_id),
                "type": locked.document_type.code,
            },
            now=now,
        )
    return locked


def document_accept(*, document: Document, actor: User, now: dt.datetime | None = None) -> Document:
    return _review(document=document, actor=actor, status=DocumentStatus.ACCEPTED, reason=None, now=now)


def document_reject(
    *, document: Document, actor: User, reason: Reason, now: dt.datetime | None = None
) -> Document:
    """Reject with a reason from the catalogue; the customer sees its text and uploads a new one."""
    if reason is None or reason.kind != ReasonKind.DOCUMENT or not reason.is_active:
        raise ValidationError({"reason": _("Choose a document problem from the catalogue.")})
    return _review(document=document, actor=actor, status=DocumentStatus.REJECTED, reason=reason, now=now)


# --- Key rotation -------------------------------------------------------------------------------


def document_files_reseal(*, batch_size: int = 200) -> tuple[int, int]:
    """Seal every stored document again under the newest PII key (``stored_files_reseal``)."""
    return stored_files_reseal(model=Document, field="file", batch_size=batch_size)


def stored_files_reseal(*, model: type[models.Model], field: str, batch_size: int = 200) -> tuple[int, int]:
    """Seal every file of ``model.field`` again under the newest PII key (and seal any stored
    before encryption came): after it the old key opens no file. Returns (files sealed, files
    missing). Documents and the attachments of questions both pass through here.

    Objects are never rewritten in place: each is saved under a new random name in its folder,
    the rows naming it (the demo's placeholders are shared) moved to that name, and only then the
    old object deleted, so an interruption leaves a stray object, never a row without its file.
    """
    storage = model._meta.get_field(field).storage  # type: ignore[union-attr]
    rows = model._default_manager.exclude(**{field: ""})
    sealed = missing = 0
    # Walked by id, not by name: a file's new random name may sort after the old one, and a walk
    # by name would then seal it again. Names sealed in this run (rows sharing a demo placeholder
    # moved with the first of them) are skipped.
    resealed: set[str] = set()
    last_pk = 0
    while True:
        batch = list(rows.filter(pk__gt=last_pk).order_by("pk").values_list("pk", field)[:batch_size])
        if not batch:
            return sealed, missing
        for _pk, name in batch:
            if name in resealed:
                continue
            try:
                with storage.open(name) as stored:
                    plaintext = stored.read()
            except FileNotFoundError:
                missing += 1
                continue
            new_name = storage.save(
                f"{posixpath.dirname(name)}/{secrets.token_hex(16)}", ContentFile(plaintext)
            )
            rows.filter(**{field: name}).update(**{field: new_name})
            storage.delete(name)
            resealed.add(new_name)
            sealed += 1
        last_pk = batch[-1][0]
