"""The in-app inbox (every notification, newest first, each in the reader's language) and the
notification settings (which channels besides the inbox)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from applications.reference import reference_data

from . import texts
from .forms import ChannelPreferenceForm
from .models import Notification
from .selectors import channel_preference_of
from .selectors import inbox as inbox_of
from .services import channel_preference_update, notifications_mark_read

PAGE_SIZE = 20


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """One page of notifications. Queries: the count and the page (with each application joined);
    the stages, reasons and document types they name come from the cached configuration, the same
    words the timeline uses."""
    page = Paginator(inbox_of(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    reference = reference_data()
    items = [
        (n, texts.render(n, reasons=reference.reasons, document_types=reference.document_types))
        for n in page.object_list
    ]
    return render(request, "notifications/inbox.html", {"page": page, "items": items})


def _back(request: HttpRequest):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(recipient=request.user)
    return _back(request)


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and go on (to the application it is about, when the form says so).
    Someone else's notification answers 404."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications_mark_read(recipient=request.user, ids=[notification.pk])
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own channels (there is no user in the URL: nobody else's to change).
    Queries for a GET: session, user, the preference, the unread count in the header."""
    preference = channel_preference_of(user=request.user)
    form = ChannelPreferenceForm(
        request.POST if request.method == "POST" else None, user=request.user, preference=preference
    )
    if form.is_valid():
        channel_preference_update(
            user=request.user, email=form.cleaned_data["email"], sms=form.cleaned_data["sms"]
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
