"""The dealer workspace (``/dealer/``): the files of the user's dealerships, a walk-in buyer's new
application, a file's read-only progress with the offer and the funding status, and the documents
the dealership holds.

Only dealers' staff (the dealer role) use these pages; a file of another dealership answers 404, as
one that does not exist would. Personal data shows masked, as for staff. The search box posts: a
whole reference comes back in the address (``?q=``), a name or mobile number never does — it is
kept in the session under a random token (``?find=``), as the back office's queue does.
"""

from __future__ import annotations

import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.pii import decrypt, encrypt, mask_name, mask_phone

from ... import services
from ...choices import MILESTONES, Stage
from ...dealer_forms import DealerSearchForm, WalkInForm
from ...dealer_selectors import (
    CLOSED,
    Search,
    dealer_application_get,
    dealer_applications,
    dealer_applications_filter,
    dealer_dealerships,
    dealer_documents,
    dealer_rows,
    search_parse,
)
from ...forms import DocumentUploadForm, add_service_errors
from ...models import DocumentType
from ...money import annuity_payment
from ...selectors import application_timeline
from ...services.dealer import DEALER_DOCUMENT_CODES, DEALER_UPLOAD_STAGES
from ..timeline import timeline_context

PAGE_SIZE = 25
SEARCHES_KEY = "dealer_searches"
SEARCHES_KEPT = 20


# The session remembers that its user is a dealer's staff: base.html shows them the workspace link.
DEALER_SESSION_FLAG = "lp_dealer"


def flag_dealer_session(sender, request, user, **kwargs) -> None:
    """On sign-in (``user_logged_in``): one permission look-up, then none on any page."""
    if (
        request is not None
        and hasattr(request, "session")
        and user.has_perm("applications.submit_for_customer")
    ):
        request.session[DEALER_SESSION_FLAG] = True


def dealer_view(view):
    """Signed-in dealers' staff only: anonymous visitors sign in, anyone else gets 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm("applications.submit_for_customer"):
            raise PermissionDenied(_("This page is for dealers' staff."))
        if not request.session.get(DEALER_SESSION_FLAG):
            request.session[DEALER_SESSION_FLAG] = True  # signed in before the flag existed
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


# --- The list -------------------------------------------------------------------------------------


def _remember_search(request: HttpRequest, search: Search) -> str:
    token = secrets.token_urlsafe(9)
    kept = dict(list(request.session.get(SEARCHES_KEY, {}).items())[-(SEARCHES_KEPT - 1) :])
    kept[token] = encrypt(f"{search.kind}:{search.value}")
    request.session[SEARCHES_KEY] = kept
    return token


def _recall_search(request: HttpRequest, token: str) -> Search | None:
    sealed = request.session.get(SEARCHES_KEY, {}).get(token)
    if not sealed:
        return None
    kind, _sep, value = decrypt(sealed).partition(":")
    return Search(kind, value)


@dealer_view
@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest) -> HttpResponse:
    """The files of the user's dealerships, newest first, 25 a page, in 9 queries whatever the page
    holds (pinned by a test): the user and their permissions, the dealerships, the count, the page,
    its documents and requests (``dealer_rows``), the navbar's unread count. The configuration and
    the stage durations come from the cache."""
    dealerships = list(dealer_dealerships(user=request.user))
    filters = {key: request.GET[key] for key in ("milestone", "dealer") if request.GET.get(key)}
    if request.method == "POST":
        search = search_parse(request.POST.get("q", ""))
        if search is None:
            query = filters
        elif search.kind == "reference":
            query = {**filters, "q": search.value}
        else:
            query = {**filters, "find": _remember_search(request, search)}
        return redirect(f"{reverse('applications:dealer_workspace')}?{urlencode(query)}")

    search, search_label, expired = None, "", False
    if request.GET.get("q"):
        search = search_parse(request.GET["q"])
        if search is not None and search.kind != "reference":
            search = None  # only a reference may travel in the address
        search_label = search.value if search else ""
    elif request.GET.get("find"):
        search = _recall_search(request, request.GET["find"])
        expired = search is None
        if search is not None:
            search_label = mask_phone(search.value) if search.kind == "phone" else search.value
    dealer_id = None
    if filters.get("dealer", "").isdigit() and int(filters["dealer"]) in {d.pk for d in dealerships}:
        dealer_id = int(filters["dealer"])
    applications = dealer_applications_filter(
        dealer_applications(user=request.user, dealerships=dealerships).order_by("-created_at", "-pk"),
        milestone=filters.get("milestone", ""),
        dealer_id=dealer_id,
        search=search,
    )
    if expired:
        applications = applications.none()  # an expired search finds nothing, never everything
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = {**filters, **{k: request.GET[k] for k in ("q", "find") if request.GET.get(k)}}
    return render(
        request,
        "applications/dealer/workspace.html",
        {
            "dealerships": dealerships,
            "rows": dealer_rows(list(page.object_list)),
            "page": page,
            "milestones": MILESTONES,
            "closed": CLOSED,
            "selected_milestone": filters.get("milestone", ""),
            "selected_dealer": dealer_id,
            "search_form": DealerSearchForm(),
            "search_label": search_label,
            "search_expired": expired,
            "query": urlencode(keep),
            "filters_query": urlencode(filters),
        },
    )


# --- A walk-in buyer ------------------------------------------------------------------------------


@dealer_view
@require_http_methods(["GET", "POST"])
def walk_in_new(request: HttpRequest) -> HttpResponse:
    dealerships = dealer_dealerships(user=request.user)
    form = WalkInForm(request.POST if request.method == "POST" else None, dealerships=dealerships)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            application = services.walk_in_start(actor=request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Application %(reference)s started. We have texted %(phone)s a link: the buyer "
                    "checks it, adds their own details, gives their consent and sends it."
                )
                % {
                    "reference": application.display_reference,
                    "phone": mask_phone(application.walk_in.buyer_phone),
                },
            )
            return redirect("applications:dealer_detail", reference=application.reference)
    return render(
        request, "applications/dealer/walk_in.html", {"form": form, "has_dealership": dealerships.exists()}
    )


# --- One file -------------------------------------------------------------------------------------


def _own_file(request: HttpRequest, reference: str):
    application = dealer_application_get(user=request.user, reference=reference)
    if application is None:
        raise Http404
    return application


@dealer_view
def dealer_detail(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own_file(request, reference)
    walk_in = getattr(application, "walk_in", None)
    applicant = getattr(application, "applicant", None)
    context: dict = {}
    if application.stage != Stage.DRAFT:
        context.update(timeline_context(application_timeline(application=application), read_only=True))
    context.update(
        {
            "application": application,
            "walk_in": walk_in,
            "dealer_view": True,
            "buyer_name": mask_name(applicant.full_name)
            if applicant
            else (walk_in.masked_buyer_name if walk_in else ""),
            "buyer_phone": applicant.masked_phone
            if applicant
            else (walk_in.masked_buyer_phone if walk_in else ""),
            "documents": dealer_documents(application=application, codes=DEALER_DOCUMENT_CODES),
            "upload_types": (
                list(DocumentType.objects.filter(code__in=DEALER_DOCUMENT_CODES).order_by("code"))
                if application.stage in DEALER_UPLOAD_STAGES
                else []
            ),
            "upload_form": DocumentUploadForm(),
            "offer_monthly": (
                annuity_payment(
                    application.approved_amount, application.approved_rate, application.approved_term_months
                )
                if application.approved_amount is not None
                else None
            ),
        }
    )
    return render(request, "applications/dealer/detail.html", context)


@dealer_view
@require_POST
def dealer_link_resend(request: HttpRequest, reference: str) -> HttpResponse:
    application = _own_file(request, reference)
    try:
        claim = services.walk_in_link_send(application=application, actor=request.user)
    except services.TransitionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("We have texted %(phone)s a new link.") % {"phone": claim.masked_buyer_phone}
        )
    return redirect("applications:dealer_detail", reference=application.reference)


@dealer_view
@require_POST
def dealer_document_upload(request: HttpRequest, reference: str, type_code: str) -> HttpResponse:
    application = _own_file(request, reference)
    document_type = get_object_or_404(DocumentType, code=type_code, code__in=DEALER_DOCUMENT_CODES)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.dealer_document_upload(
                application=application,
                document_type=document_type,
                uploaded_file=form.cleaned_data["file"],
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except services.TransitionRefused as refused:
            form.add_error(None, str(refused))
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, _("%(document)s uploaded.") % {"document": document_type})
    return redirect("applications:dealer_detail", reference=application.reference)
