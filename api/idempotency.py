"""``Idempotency-Key`` on every POST: a retried request gets the first answer, never a second file.

The record (API key + Idempotency-Key → fingerprint, status, body) is inserted first, in the
transaction the whole request runs in. A concurrent retry's INSERT waits on the unique constraint
until the first request commits, then finds its record and replays the answer; if the first one
rolled back, the retry goes ahead as if it were the first. Answers of 5xx are not kept (the
transaction rolls back, so a retry runs again). The same key with another method, path or body
answers 422. Records live 24 hours (``services.idempotency_records_purge``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .models import IdempotencyRecord
from .problems import Problem

HEADER = "Idempotency-Key"
# Printable ASCII without spaces, at most 255 characters (a UUID is the usual choice).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
KEY_RE = re.compile(KEY_PATTERN)
REPLAYED_HEADER = "Idempotent-Replayed"


def _content_hash(upload) -> str:
    content = hashlib.sha256()
    for chunk in upload.chunks():
        content.update(chunk)
    upload.seek(0)
    return content.hexdigest()


def request_fingerprint(request) -> str:
    """SHA-256 over the method, the path and the parsed body: a JSON body as it parses, form
    fields by name, each file by its name and content hash (so a client's new multipart boundary
    is still the same request)."""
    data = request.data
    fields = dict(data.lists()) if hasattr(data, "lists") else {"": data}
    files = {}
    for name, uploads in request.FILES.lists():
        fields.pop(name, None)
        files[name] = [[upload.name, _content_hash(upload)] for upload in uploads]
    canonical = json.dumps({"fields": fields, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    headers = {REPLAYED_HEADER: "true"}
    if record.location:
        headers["Location"] = record.location
    content_type = "application/problem+json" if record.status_code >= 400 else None
    return Response(record.body, status=record.status_code, headers=headers, content_type=content_type)


def idempotent(handler):
    """Wrap an APIView's ``post``: needs the header, keeps and replays the first answer.

    Runs after authentication, permissions and throttling (DRF's ``initial``), so a refused
    request keeps nothing.
    """

    @functools.wraps(handler)
    def post(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "")
        if not KEY_RE.match(key):
            raise Problem(
                "invalid-request",
                400,
                _(
                    "Send an Idempotency-Key header (up to 255 printable characters, e.g. a UUID) with every POST."
                ),
                {HEADER: [_("This header is required.")]},
            )
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        api_key=request.auth, key=key, fingerprint=fingerprint, status_code=0
                    )
            except IntegrityError:
                record = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
                if record.expired():
                    # Past its day (and not purged yet): the key starts afresh.
                    record.delete()
                    record = IdempotencyRecord.objects.create(
                        api_key=request.auth, key=key, fingerprint=fingerprint, status_code=0
                    )
                elif record.fingerprint != fingerprint:
                    raise Problem(
                        "idempotency-key-reused",
                        422,
                        _(
                            "This Idempotency-Key was used for another request. Use a new key for a new request."
                        ),
                    ) from None
                else:
                    return _replay(record)
            try:
                with transaction.atomic():  # a failure rolls back to here; the record stays usable
                    response = handler(view, request, *args, **kwargs)
            except Exception as exc:
                # The problem the API answers is the first answer too (a refused upload is
                # refused again), unless it is a server error.
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.body = response.data
            record.location = response.headers.get("Location", "")
            record.save(update_fields=["status_code", "body", "location"])
        return response

    return post
