"""The customer's applications: the list, the timeline of one, and withdrawing it.

Every view starts from the signed-in customer's own applications, so someone else's reference
answers 404 exactly like one that does not exist. The timeline's words for the history live here
(``history_entries``): the customer sees what happened and why, never who on the staff did it or
what they noted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import cache, caches
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods

from accounts.sessions import sessions_in_database, signed_in_session
from loanportal.postgresql.changes import KeptAnswers, session_tag, user_tag
from notifications.selectors import unread_count_sql

from .. import services
from ..choices import EventKind, Stage
from ..models import LoanApplication
from ..money import annuity_payment
from ..selectors import (
    WITHDRAWABLE_STAGES,
    RepeatView,
    Timeline,
    application_timeline,
    customer_application_cards,
    customer_application_get,
    customer_timeline_application,
    timeline_repeat_view,
)
from ..templatetags.timeline import expected_text, rate, reply_by_text, yuan
from .apply import next_step

# Whole pages, in this process's memory (see ``application_detail``).
pages = caches["pages"]

# Which kept page a visitor's repeat view may be served, in this process's memory, until the
# database announces a change to what was checked (``PG_LISTEN``; see ``_known_page``).
known_pages = KeptAnswers()


@receiver(setting_changed)
def _forget_known_pages(**kwargs) -> None:
    known_pages.forget()


# What each transition means to the customer, in their words.
TRANSITION_WORDS = {
    "create": gettext_lazy("Application started"),
    "submit": gettext_lazy("Application submitted"),
    "start_credit_check": gettext_lazy("Automatic pre-check started"),
    "pass_precheck": gettext_lazy("Pre-check passed: your application went to credit review"),
    "precheck_needs_documents": gettext_lazy("Pre-check passed: we need some documents from you"),
    "fail_precheck": gettext_lazy("Not approved at the automatic pre-check"),
    "request_documents": gettext_lazy("The credit review needs more documents from you"),
    "resume_review": gettext_lazy("Documents complete: the credit review continues"),
    "recommend_approval": gettext_lazy("Credit review finished: your application went to approval"),
    "reject_in_review": gettext_lazy("Not approved after the credit review"),
    "return_to_review": gettext_lazy("Returned to the credit review for a further check"),
    "approve": gettext_lazy("Approved: your offer is ready"),
    "decline": gettext_lazy("Not approved at the approval stage"),
    "accept_offer": gettext_lazy("You accepted the offer"),
    "decline_offer": gettext_lazy("You declined the offer"),
    "sign_contract": gettext_lazy("Contract signed"),
    "register_lien": gettext_lazy("Lien registered on the vehicle"),
    "disburse": gettext_lazy("The loan was paid to the dealer"),
    "withdraw": gettext_lazy("The application was withdrawn"),
    "expire": gettext_lazy("The application expired"),
}

# Document events: what happened to a document, by the action the event records.
DOCUMENT_WORDS = {
    "uploaded": gettext_lazy("Document received: %(document)s"),
    "accepted": gettext_lazy("Document accepted: %(document)s"),
    "rejected": gettext_lazy("Document not accepted: %(document)s"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    title: str
    detail: str = ""
    tone: str = ""  # "good", "bad" or "" for the dot's colour


def _join(names: list[str]) -> str:
    return pgettext("list separator", ", ").join(names)


def _document_names(timeline: Timeline, codes) -> str:
    types = timeline.document_types
    return _join([types[code].localized("name") if code in types else code for code in codes or []])


def _reason_detail(timeline: Timeline, code: str, *, with_remedy: bool) -> str:
    reason = timeline.reasons.get(code)
    if reason is None:
        return ""
    text = reason.localized("text")
    remedy = reason.localized("remedy") if with_remedy else ""
    return _("%(reason)s. %(remedy)s") % {"reason": text, "remedy": remedy} if remedy else text


def _transition_entry(timeline: Timeline, event) -> HistoryEntry:
    title = TRANSITION_WORDS.get(event.transition)
    if title is None:
        title = _("Your application moved on to “%(stage)s”") % {"stage": Stage(event.to_stage).label}
    detail = ""
    data = event.data or {}
    tone = ""
    if event.transition == "request_documents":
        detail = _document_names(timeline, data.get("documents"))
        reason = _reason_detail(timeline, event.reason_code, with_remedy=False)
        if detail and reason:
            detail = _("%(documents)s — %(reason)s") % {"documents": detail, "reason": reason}
        else:
            detail = detail or reason
    elif event.transition == "precheck_needs_documents":
        detail = _document_names(timeline, data.get("missing_documents"))
    elif event.transition == "approve" and data.get("amount"):
        detail = _("%(amount)s at %(rate)s a year over %(term)s months") % {
            "amount": yuan(Decimal(data["amount"])),
            "rate": rate(Decimal(data["rate"])),
            "term": data.get("term_months", ""),
        }
        tone = "good"
    elif event.reason_code:
        detail = _reason_detail(timeline, event.reason_code, with_remedy=False)
    if event.to_stage in (Stage.REJECTED, Stage.EXPIRED, Stage.WITHDRAWN):
        tone = "bad"
    elif event.to_stage == Stage.DISBURSED or event.transition == "accept_offer":
        tone = "good"
    return HistoryEntry(event.created_at, str(title), detail, tone)


def _document_entry(timeline: Timeline, event) -> HistoryEntry:
    data = event.data or {}
    code = data.get("document_type") or data.get("type") or ""
    action = data.get("action") or data.get("status") or ""
    name = _document_names(timeline, [code]) if code else _("a document")
    words = DOCUMENT_WORDS.get(action)
    title = (words or gettext_lazy("Document updated: %(document)s")) % {"document": name}
    detail = _reason_detail(timeline, event.reason_code, with_remedy=True) if action == "rejected" else ""
    tone = {"accepted": "good", "rejected": "bad"}.get(action, "")
    return HistoryEntry(event.created_at, str(title), detail, tone)


def history_entries(timeline: Timeline) -> list[HistoryEntry]:
    """The history in the customer's words, newest first (no staff names, no internal notes)."""
    entries = []
    for event in timeline.events:
        if event.kind == EventKind.TRANSITION:
            entries.append(_transition_entry(timeline, event))
        elif event.kind == EventKind.DOCUMENT:
            entries.append(_document_entry(timeline, event))
    entries.reverse()
    return entries


# The history shows its latest entries; the rest are one link away (``?history=all``). A file with
# hundreds of document events stays quick to read and to render.
HISTORY_SHOWN = 20


def timeline_context(timeline: Timeline, *, read_only: bool, full_history: bool = True) -> dict:
    """What the timeline partial (``applications/timeline/_timeline.html``) needs: the whole history,
    or with ``full_history=False`` its latest ``HISTORY_SHOWN`` entries and the number left out
    (the timeline may then hold only those and the stage changes: ``latest_events``)."""
    application = timeline.application
    history = history_entries(timeline)
    shown = history if full_history else history[:HISTORY_SHOWN]
    expectation = timeline.expectation
    monthly = None
    if timeline.offer_waiting and application.approved_amount is not None:
        monthly = annuity_payment(
            application.approved_amount, application.approved_rate, application.approved_term_months
        )
    return {
        "timeline": timeline,
        "application": application,
        "read_only": read_only,
        "history": shown,
        "history_hidden": timeline.events_total - len(shown),
        "expected_text": (
            expected_text(expectation.expected_at, expectation.remaining, now=timeline.now)
            if expectation
            else ""
        ),
        "reply_by_text": reply_by_text(timeline.reply_by, now=timeline.now) if timeline.reply_by else "",
        "offer_monthly": monthly,
    }


def _own_application(request: HttpRequest, reference: str) -> LoanApplication:
    application = customer_application_get(user=request.user, reference=reference)
    if application is None:
        raise Http404(_("No such application."))
    return application


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    """My applications: one card each, newest first."""
    cards = customer_application_cards(user=request.user)
    return render(request, "applications/list.html", {"cards": cards})


def _body_cache_key(application: LoanApplication, *, full_history: bool) -> str:
    """The cached page body's key: the file's version (every change to it, its history or its
    documents saves ``updated_at`` or appends an event, which moves ``history_head``), the
    language and time zone it is written in, and which history it shows."""
    return ":".join(
        (
            "applications:timeline",
            str(application.pk),
            application.updated_at.isoformat(),
            application.history_head or "-",
            "all" if full_history else "latest",
            translation.get_language() or "",
            timezone.get_current_timezone_name(),
        )
    )


# The whole page is kept per visitor, under everything it shows (``_page_key``), with this in place
# of the CSRF token: a token masked afresh for each response goes in on the way out. Kept pages
# never leave the process, so the marker is this process's own: no text on a page can imitate it.
CSRF_TOKEN_SLOT = f"lp-csrf-{secrets.token_hex(16)}"
CSRF_TOKEN_SLOT_BYTES = CSRF_TOKEN_SLOT.encode("ascii")


@dataclass(frozen=True)
class KeptPage:
    """A repeat view's check: the key of the page it may be served (``page``, None if not kept
    yet), for which user, with what unread count."""

    key: str
    user_id: int
    unread_notifications: int
    page: bytes | None  # encoded as the response is (UTF-8), with ``CSRF_TOKEN_SLOT`` in it


def _page_key(request: HttpRequest, row: RepeatView, *, full_history: bool) -> str:
    """Everything the whole page shows: the file's version, the language and time zone, which
    history; and the frame's: the visitor (their name, masked phone, e-mail or user name, whichever
    shows), the unread count, and the address the language switcher returns to."""
    visitor = "\x1f".join((*row.visitor, request.path))
    return ":".join(
        (
            "applications:timeline-page",
            str(row.application_id),
            row.version,
            "all" if full_history else "latest",
            translation.get_language() or "",
            timezone.get_current_timezone_name(),
            str(row.user_id),
            str(row.unread_notifications),
            hashlib.blake2b(visitor.encode(), digest_size=12).hexdigest(),
        )
    )


def _repeat_view_session(request: HttpRequest) -> str | None:
    """The session key of a request that may be a repeat view, or None: a visitor not signed in,
    another method, an address with another query string, or a message waiting in its cookie."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if (
        not session_key
        or not sessions_in_database()
        or request.method != "GET"
        or request.META.get("QUERY_STRING", "") not in ("", "history=all")
        or CookieStorage.cookie_name in request.COOKIES
    ):
        return None
    return session_key


def _listening() -> bool:
    return settings.PG_LISTEN and connection.vendor == "postgresql"


def _known_key(request: HttpRequest, session_key: str, *, full_history: bool) -> tuple:
    """What a known page is looked up by: everything ``_page_key`` takes from the request."""
    return (
        session_key,
        request.path,
        full_history,
        translation.get_language() or "",
        timezone.get_current_timezone_name(),
    )


def _known_page(request: HttpRequest, session_key: str, *, full_history: bool) -> bytes | None:
    """A repeat view answered without asking the database: the page an earlier view checked for
    this visitor (``_kept_page``), as long as nothing it was checked against has changed since.

    The session, the account, the file, the unread count: each of their tables announces its
    changes (``loanportal.postgresql.changes``), and an announced change drops the answer, so the
    next view checks again. Answers are also dropped ``PG_LISTEN_TRUST_SECONDS`` after their check
    and when the session expires; none is kept while this process is not listening."""
    page_key = known_pages.get(_known_key(request, session_key, full_history=full_history))
    return pages.get(page_key) if page_key is not None else None


def _kept_page(
    request: HttpRequest, reference: str, session_key: str, *, full_history: bool
) -> KeptPage | None:
    """A repeat view of the timeline, checked against one row (``timeline_repeat_view``): the
    session, the account, the file's version and the unread count, for a request that may be a
    repeat view (``_repeat_view_session``). None leaves the request to the whole view, which
    decides as usual: a session that does not sign in the file's customer (another customer's
    file, signed out, expired, a changed password, an inactive account), staff (their frame
    depends on roles), a draft, or a message waiting in the session.

    While this process listens for changes, the answer is also remembered for the visitor's next
    views (``_known_page``)."""
    # Taken before the row is read: a change announced after it makes the answer unfit to keep.
    ticket = known_pages.ticket() if _listening() else None
    row = timeline_repeat_view(session_key=session_key, reference=reference, unread_count=unread_count_sql)
    if row is None or row.is_staff or row.stage == Stage.DRAFT:
        return None
    session = signed_in_session(
        row.session_data, user_id=row.user_id, password=row.password, is_active=row.is_active
    )
    if session is None or SessionStorage.session_key in session:
        return None
    key = _page_key(request, row, full_history=full_history)
    if ticket is not None:
        trust = min(settings.PG_LISTEN_TRUST_SECONDS, (row.session_expires - timezone.now()).total_seconds())
        known_pages.put(
            _known_key(request, session_key, full_history=full_history),
            key,
            tags=(user_tag(row.user_id), session_tag(session_key)),
            ticket=ticket,
            seconds=trust,
        )
    return KeptPage(key, row.user_id, row.unread_notifications, pages.get(key))


def _page_response(request: HttpRequest, page: bytes) -> HttpResponse:
    """The page with a CSRF token masked for this response in its slot."""
    return HttpResponse(page.replace(CSRF_TOKEN_SLOT_BYTES, get_token(request).encode("ascii")))


def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The timeline: where the application stands, why, what happens next and when.

    Customers come back to it to see whether anything moved, so it is kept for
    ``TIMELINE_CACHE_SECONDS`` in two layers, both under the file's version, so that a change shows
    on the next view and the relative times ("in about 2 hours") are at most that old:

    - the whole page per visitor, in each server process's memory: a repeat view costs one query
      (``_kept_page``) and renders nothing, or, on PostgreSQL while the process listens for the
      database's announced changes (``PG_LISTEN``), no query at all until something it was checked
      against changes (``_known_page``);
    - the body (the history, documents, requests and prediction, about twenty template files'
      worth of HTML) per file, language and time zone in the shared cache, for the first view of a
      version, whatever frame it is shown in.
    """
    full_history = request.GET.get("history") == "all"
    kept = None
    page = None
    session_key = _repeat_view_session(request) if settings.TIMELINE_CACHE_SECONDS else None
    if session_key is not None:
        page = _known_page(request, session_key, full_history=full_history) if _listening() else None
        if page is None:
            kept = _kept_page(request, reference, session_key, full_history=full_history)
            page = kept.page if kept is not None else None
    if page is not None:
        response = _page_response(request, page)
        # As the whole view's: it read the session, which the session middleware marks so.
        patch_vary_headers(response, ("Cookie",))
        return response
    return _application_page(request, reference, full_history=full_history, kept=kept)


@login_required
def _application_page(
    request: HttpRequest, reference: str, *, full_history: bool, kept: KeptPage | None
) -> HttpResponse:
    """The whole view: Django's session and sign-in, the application, the body (from the shared
    cache or built), the page; kept for the visitor's next view when ``_kept_page`` said which."""
    application = customer_timeline_application(user=request.user, reference=reference)
    if application is None:
        raise Http404(_("No such application."))
    if application.stage == Stage.DRAFT:
        # Not sent yet: nothing to follow, so the customer continues the form where they left it.
        return redirect(next_step(application))
    seconds = settings.TIMELINE_CACHE_SECONDS
    body_key = _body_cache_key(application, full_history=full_history)
    body = cache.get(body_key) if seconds else None
    if body is None:
        timeline = application_timeline(
            application=application, latest_events=None if full_history else HISTORY_SHOWN
        )
        context = timeline_context(timeline, read_only=False, full_history=full_history)
        body = render_to_string("applications/timeline/_body.html", context)
        if seconds:
            cache.set(body_key, body, timeout=seconds)
    # ``body`` is the template's output, a SafeString, and stays one through the cache's pickling.
    context = {"application": application, "body": body, "csrf_token": CSRF_TOKEN_SLOT}
    keep = kept is not None and kept.user_id == request.user.pk
    if keep:
        # Counted with the check; otherwise the navbar counts when it shows the badge.
        context["unread_notification_count"] = kept.unread_notifications
    page = render_to_string("applications/timeline/page.html", context, request).encode()
    if keep:
        pages.set(kept.key, page, timeout=seconds)
    return _page_response(request, page)


@login_required
@require_http_methods(["GET", "POST"])
def application_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    """GET asks for confirmation; POST withdraws. Nothing changes without the second step."""
    application = _own_application(request, reference)
    if request.method == "POST":
        try:
            services.application_withdraw(application=application, actor=request.user)
        except services.TransitionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your application has been withdrawn."))
        return redirect("applications:detail", reference=application.reference)
    if application.stage not in WITHDRAWABLE_STAGES:
        messages.info(request, _("This application can no longer be withdrawn."))
        return redirect("applications:detail", reference=application.reference)
    return render(
        request,
        "applications/timeline/withdraw_confirm.html",
        {"application": application, "is_draft": application.stage == Stage.DRAFT},
    )
