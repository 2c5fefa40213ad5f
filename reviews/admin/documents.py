"""Opening a file's document from the application page: the staff side of the documents.

``DocumentFileMixin`` adds the page's document URL to ``LoanApplicationAdmin``: the file of a
document of an application in the user's scope (``reviews.permissions``), for holders of
``view_document``, each opening logged (``reviews.documents``); anything else answers 404, the same
as a document that does not exist.
"""

from __future__ import annotations

import uuid

from django.contrib.admin.utils import unquote
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path
from django.views.decorators.http import require_GET

from applications.services.documents import EXTENSIONS

from .. import documents


class DocumentFileMixin:
    def get_urls(self):
        return [
            path(
                "<path:object_id>/document/<uuid:public_id>/",
                self.admin_site.admin_view(require_GET(self.document_file_view)),
                name="applications_loanapplication_document_file",
            ),
            *super().get_urls(),
        ]

    def document_file_view(self, request: HttpRequest, object_id: str, public_id: uuid.UUID) -> FileResponse:
        # get_object is scoped: a file outside the user's scope raises 404 before anything is read.
        application = self.get_object(request, unquote(object_id))
        document = documents.document_of(application=application, public_id=public_id, user=request.user)
        if document is None:
            raise Http404
        try:
            content = document.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None  # the row outlived its file (a restore without the media folder)
        documents.document_open_record(document=document, actor=request.user)
        extension = EXTENSIONS.get(document.content_type, "bin")
        response = FileResponse(
            content,
            as_attachment=True,
            filename=f"{application.reference}-{document.document_type.code}.{extension}",
            content_type=document.content_type,
        )
        return response  # admin_view marks it never_cache: private, no-store
