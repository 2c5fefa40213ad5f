"""The customer's questions about their application: asking (the form under the timeline's thread,
and its own page when something needs correcting) and the attachments of the thread.

Everything starts from the signed-in customer's own applications: another customer's reference, or
an attachment of another file or of an internal note, answers 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..choices import Stage
from ..forms import QuestionForm, add_service_errors
from ..selectors import customer_attachment_get
from ..services.documents import EXTENSIONS
from .access import customers_only
from .timeline import _own_application


@login_required
@customers_only
@require_http_methods(["GET", "POST"])
def question_ask(request: HttpRequest, reference: str) -> HttpResponse:
    """POST from the timeline's form: the question joins the thread and the customer is back on the
    timeline, at the thread. A question that needs correcting (empty, a file we do not accept) is
    shown again on this page with what to fix."""
    application = _own_application(request, reference)
    if application.stage == Stage.DRAFT:
        return redirect("applications:detail", reference=application.reference)
    posted = request.method == "POST"
    form = QuestionForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            services.question_ask(
                application=application,
                actor=request.user,
                body=form.cleaned_data["body"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Thank you. We have your question and will answer it soon."))
            return redirect(reverse("applications:detail", args=[application.reference]) + "#questions")
    return render(
        request, "applications/questions/ask.html", {"application": application, "question_form": form}
    )


@login_required
@require_GET
def question_attachment(request: HttpRequest, reference: str, public_id: uuid.UUID) -> FileResponse:
    """A file of the customer's own thread, as an attachment under a name we make up. Staff open
    attachments from the back office, which checks that they may see the file."""
    message = customer_attachment_get(user=request.user, reference=reference, public_id=public_id)
    if message is None:
        raise Http404
    try:
        content = message.attachment.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        content,
        as_attachment=True,
        filename=f"{message.thread.application.reference}-{message.pk}.{EXTENSIONS.get(message.attachment_type, 'bin')}",
        content_type=message.attachment_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response
