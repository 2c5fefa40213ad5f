"""Documents: the customer uploads each type the checklist asks for, and downloads what is on file.

Files are never served from a public folder: the download view checks who is asking (the
application's own customer, or the dealer staff who created it) and answers everyone else with a
404. Staff open documents through the back office.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..choices import Stage
from ..forms import DocumentUploadForm, add_service_errors
from ..models import Document, LoanApplication
from ..services.documents import EXTENSIONS, UPLOAD_STAGES, document_checklist, document_types_for
from .access import customers_only
from .apply import own_application


def _after_upload(application: LoanApplication) -> str:
    """The next document still owed, else back to where the customer came from."""
    application.refresh_from_db()
    missing = application.missing_document_types()
    if missing:
        return reverse("applications:document_upload", args=[application.reference, missing[0].code])
    if application.stage == Stage.DRAFT:
        return reverse("applications:apply_review", args=[application.reference])
    return reverse("applications:detail", kwargs={"reference": application.reference})


@login_required
@customers_only
@require_http_methods(["GET", "POST"])
def document_upload(request: HttpRequest, reference: str, type_code: str) -> HttpResponse:
    application = own_application(request, reference)
    types = document_types_for(application)
    doc_type = next((t for t in types if t.code == type_code), None)
    if doc_type is None:
        raise Http404
    can_upload = application.stage in UPLOAD_STAGES
    posted = request.method == "POST"
    form = DocumentUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted:
        if not can_upload:
            messages.error(request, _("Documents can no longer be added to this application."))
            return redirect("applications:detail", reference=application.reference)
        if form.is_valid():
            try:
                services.document_upload(
                    application=application,
                    document_type=doc_type,
                    uploaded_file=form.cleaned_data["file"],
                    actor=request.user,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            except services.TransitionError as error:
                messages.error(request, str(error))
                return redirect("applications:detail", reference=application.reference)
            else:
                messages.success(
                    request, _("%(document)s received. We will check it shortly.") % {"document": doc_type}
                )
                return redirect(_after_upload(application))
    documents = (
        application.documents.filter(document_type=doc_type)
        .select_related("rejection_reason")
        .order_by("-uploaded_at")
    )
    return render(
        request,
        "applications/documents/upload.html",
        {
            "application": application,
            "document_type": doc_type,
            "documents": documents,
            "form": form,
            "can_upload": can_upload,
            "checklist": document_checklist(application, types=types),
            "back_url": reverse("applications:apply_review", args=[application.reference])
            if application.stage == Stage.DRAFT
            else reverse("applications:detail", kwargs={"reference": application.reference}),
        },
    )


@login_required
@require_GET
def document_download(request: HttpRequest, reference: str, public_id: uuid.UUID) -> FileResponse:
    """The file as an attachment under a name we make up (the customer's own name may say anything)."""
    document = get_object_or_404(
        Document.objects.select_related("application", "document_type"),
        public_id=public_id,
        application__reference=reference,
    )
    application, user = document.application, request.user
    # Staff open documents in the back office, which checks the file is in their scope and logs
    # each opening (``reviews/admin/documents.py``): here only the file's customer (a dealer's staff
    # who started it see their dealership's uploads in their workspace, never the buyer's papers).
    if user.pk != application.customer_id:
        raise Http404  # the same answer as for a document that does not exist
    extension = EXTENSIONS.get(document.content_type, "bin")
    try:
        content = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None  # the row outlived its file (a restore without the media folder)
    response = FileResponse(
        content,
        as_attachment=True,
        filename=f"{application.reference}-{document.document_type.code}.{extension}",
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
