"""The customer's applications: the list, the timeline of one, and withdrawing it.

Every view starts from the signed-in customer's own applications, so someone else's reference
answers 404 exactly like one that does not exist. The timeline's words for the history live here
(``history_entries``): the customer sees what happened and why, never who on the staff did it or
what they noted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crispy_forms.utils import render_crispy_form
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_http_methods
from django.views.decorators.vary import vary_on_headers

from common.money import yuan

from .. import services
from ..choices import PARTNER_STEP_WORDS, EventKind, PartnerStepStatus, RepaymentMethod, Stage
from ..forms import QuestionForm
from ..frame import frame_version
from ..models import LoanApplication
from ..money import annuity_payment
from ..selectors import (
    WITHDRAWABLE_STAGES,
    PartnerSubStep,
    Timeline,
    TimelineVersion,
    application_timeline,
    customer_application_cards,
    customer_application_get,
    customer_thread_messages,
    customer_timeline_application,
    customer_timeline_version,
)
from ..templatetags.timeline import disbursement_text, expected_text, rate, reply_by_text
from ..transitions import HISTORY_ACTIONS
from .access import customers_only
from .apply import next_step

# What each transition means to the customer, in their words (the transitions registry's).
TRANSITION_WORDS = {name: meaning.customer_words for name, meaning in HISTORY_ACTIONS.items()}

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
    elif event.transition == "accept_offer" and data.get("repayment_method") in RepaymentMethod.values:
        detail = _("Repayment: %(method)s.") % {"method": RepaymentMethod(data["repayment_method"]).label}
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


def _delay_entry(timeline: Timeline, event) -> HistoryEntry:
    """A cause of delay set: the registry's words, the cause and its remedy (never the staff note)."""
    title = TRANSITION_WORDS.get(event.transition) or TRANSITION_WORDS["delay_cause"]
    return HistoryEntry(
        event.created_at, str(title), _reason_detail(timeline, event.reason_code, with_remedy=True)
    )


# --- Partner steps: the current stage's sub-steps, in the customer's words ----------------------

# What a step's status means to the customer (the staff's labels say "failed": the customer is
# told what happens next instead).
PARTNER_STATUS_WORDS = {
    PartnerStepStatus.REQUESTED: pgettext_lazy("partner step for the customer", "Requested"),
    PartnerStepStatus.IN_PROGRESS: pgettext_lazy("partner step for the customer", "In progress"),
    PartnerStepStatus.DONE: pgettext_lazy("partner step for the customer", "Done"),
    PartnerStepStatus.FAILED: pgettext_lazy("partner step for the customer", "Being redone"),
}


def partner_usual_time(step: PartnerSubStep) -> str:
    """How long the step usually takes: "usually 2 working days", or in hours under a day."""
    if step.usual_days:
        return ngettext("usually %(days)s working day", "usually %(days)s working days", step.usual_days) % {
            "days": step.usual_days
        }
    return ngettext("usually %(hours)s working hour", "usually %(hours)s working hours", step.limit_hours) % {
        "hours": step.limit_hours
    }


@dataclass(frozen=True)
class SubStepLine:
    kind: str
    status: str
    status_words: str
    text: str


def partner_step_text(step: PartnerSubStep) -> str:
    """The sub-step in plain words: who does what and how long it usually takes while it is open
    ("The vehicle registry is registering the lien: usually 2 working days"), what was done once
    it is, and that it is being redone after a failure (the cause is the delay notice's)."""
    words = PARTNER_STEP_WORDS.get(step.kind)
    if words is None:
        return ""
    if step.status == PartnerStepStatus.DONE:
        return str(words.done)
    if step.status == PartnerStepStatus.FAILED:
        return _("%(step)s: it has to be done again, and we are following it up") % {"step": words.working}
    return _("%(step)s: %(usual)s") % {"step": words.working, "usual": partner_usual_time(step)}


def partner_step_lines(timeline: Timeline) -> list[SubStepLine]:
    return [
        SubStepLine(
            step.kind,
            step.status,
            str(PARTNER_STATUS_WORDS.get(step.status, "")),
            partner_step_text(step),
        )
        for step in timeline.partner_steps
        if step.kind in PARTNER_STEP_WORDS
    ]


def _partner_entry(event) -> HistoryEntry | None:
    """A partner's step requested, under way, done or failed: what the partner does, in plain words."""
    data = event.data or {}
    words = PARTNER_STEP_WORDS.get(data.get("kind", ""))
    if words is None:
        return None
    status = data.get("status")
    if status == PartnerStepStatus.DONE:
        return HistoryEntry(event.created_at, str(words.done), "", "good")
    detail = str(PARTNER_STATUS_WORDS.get(status, ""))
    if status == PartnerStepStatus.FAILED:
        detail = _("It has to be done again; we are following it up.")
    return HistoryEntry(event.created_at, str(words.working), detail)


def history_entries(timeline: Timeline) -> list[HistoryEntry]:
    """The history in the customer's words, newest first (no staff names, no internal notes)."""
    entries = []
    for event in timeline.events:
        if event.kind == EventKind.TRANSITION:
            entries.append(_transition_entry(timeline, event))
        elif event.kind == EventKind.DOCUMENT:
            entries.append(_document_entry(timeline, event))
        elif event.kind == EventKind.DELAY:
            entries.append(_delay_entry(timeline, event))
        elif event.kind == EventKind.PARTNER and (entry := _partner_entry(event)) is not None:
            entries.append(entry)
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
    disbursement = timeline.disbursement
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
        "disbursement_text": (
            disbursement_text(
                disbursement.expected_at,
                stage=application.stage,
                if_customer_acts_today=disbursement.if_customer_acts_today,
                now=timeline.now,
            )
            if disbursement
            else ""
        ),
        "offer_monthly": monthly,
        "partner_steps": partner_step_lines(timeline),
    }


def _own_application(request: HttpRequest, reference: str) -> LoanApplication:
    application = customer_application_get(user=request.user, reference=reference)
    if application is None:
        raise Http404(_("No such application."))
    return application


@login_required
@customers_only
def application_list(request: HttpRequest) -> HttpResponse:
    """My applications: one card each, newest first."""
    cards = customer_application_cards(user=request.user)
    return render(request, "applications/list.html", {"cards": cards})


def _body_cache_key(application: LoanApplication | TimelineVersion, *, full_history: bool) -> str:
    """The cached page body's key: the file's version (every change to it, its history, its
    documents or its question thread saves ``updated_at`` or appends an event, which moves
    ``history_head``; an internal note on the thread does neither, nor shows), the
    language and time zone it is written in, and which history it shows. Its value: the body and
    the question form's fields, both as written (``_page_parts``)."""
    return ":".join(
        (
            "applications:timeline:2",
            str(application.pk),
            application.updated_at.isoformat(),
            application.history_head or "-",
            "all" if full_history else "latest",
            translation.get_language() or "",
            timezone.get_current_timezone_name(),
        )
    )


def _full_history(request: HttpRequest) -> bool:
    return request.GET.get("history") == "all"


@dataclass
class _Visit:
    """What the ETag and the page both read, read once per request (``_visit``)."""

    version: TimelineVersion | None  # None: not the visitor's file, or no such file


def _visit(request: HttpRequest, reference: str) -> _Visit:
    visit = getattr(request, "timeline_visit", None)
    if visit is None:
        version = customer_timeline_version(user=request.user, reference=reference)
        visit = request.timeline_visit = _Visit(version)
    return visit


def timeline_etag(request: HttpRequest, reference: str) -> str | None:
    """The version of the page this visitor would be given now, for HTTP conditional GET.

    Everything the page shows: the file's version, which history, the language and time zone (the
    body's cache key); and the frame around it: who is signed in and the name the navbar shows,
    what other apps show there (``settings.LOANPORTAL_FRAME_PARTS``: the inbox badge), the address
    the language switcher returns to, and the visitor's CSRF cookie, so a copy whose forms carry a
    token of an earlier cookie (before a sign-in) is never confirmed. Also
    the current window of ``TIMELINE_CACHE_SECONDS``: the page says "in about 2 hours", which a
    browser's copy must not go on saying for longer than a cached body would.

    None (no ETag: the page is always built) when the page is not the timeline (someone else's
    file, a draft), for staff (their navbar depends on their roles), while a message waits to be
    shown once, and with ``TIMELINE_CACHE_SECONDS`` 0.
    """
    seconds = settings.TIMELINE_CACHE_SECONDS
    user = request.user
    if not seconds or user.is_staff or len(messages.get_messages(request)):
        return None
    version = _visit(request, reference).version
    if version is None or version.stage == Stage.DRAFT:
        return None
    shown = (
        _body_cache_key(version, full_history=_full_history(request)),
        str(int(timezone.now().timestamp() // seconds)),
        str(user.pk),
        user.get_full_name() or user.masked_phone or user.email or user.username,
        *frame_version(request),
        request.get_full_path(),
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
    )
    return salted_hmac("applications.timeline.etag", "\x1f".join(shown), algorithm="sha256").hexdigest()


@login_required
@customers_only
@cache_control(private=True, no_cache=True)
@vary_on_headers("Cookie", "Accept-Language")
@condition(etag_func=timeline_etag)
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The timeline: where the application stands, why, what happens next and when.

    Customers come back to it to see whether anything moved. A browser reloading a page that has
    not changed is answered 304 (``timeline_etag``), and the page's body (the history, documents,
    requests and prediction) is kept in the shared cache for ``TIMELINE_CACHE_SECONDS`` under the
    file's version, language and time zone, whatever frame it is shown in: a change shows on the
    next view, and relative times ("in about 2 hours") are at most that old.
    """
    full_history = _full_history(request)
    seconds = settings.TIMELINE_CACHE_SECONDS
    shown: TimelineVersion | LoanApplication | None = None
    parts: tuple[str, str] | None = None
    if seconds:
        # The version first (five columns): a repeat view frames the cached body and reads no more.
        shown = _visit(request, reference).version
        if shown is None:
            raise Http404(_("No such application."))
        if shown.stage != Stage.DRAFT:
            parts = cache.get(_body_cache_key(shown, full_history=full_history))
    if parts is None:
        # Built from the file in full, and kept under the version it was built from.
        shown = application = customer_timeline_application(user=request.user, reference=reference)
        if application is None:
            raise Http404(_("No such application."))
        if application.stage == Stage.DRAFT:
            # Not sent yet: nothing to follow, so the customer continues the form where they left it.
            return redirect(next_step(application))
        timeline = application_timeline(
            application=application, latest_events=None if full_history else HISTORY_SHOWN
        )
        context = timeline_context(timeline, read_only=False, full_history=full_history)
        # The question thread: each question and answer is a history event, so the key moves. The
        # application was read with its thread joined: a file without one reads no messages.
        has_thread = hasattr(application, "question_thread")
        context["thread"] = customer_thread_messages(application=application) if has_thread else []
        # The question form's fields are the same for every file (its labels are in the language the
        # key names): written once with the body, since crispy's rendering costs about a millisecond.
        # The <form> around them and its CSRF token are written on every view (page.html).
        parts = (
            render_to_string("applications/timeline/_body.html", context),
            render_crispy_form(QuestionForm()),
        )
        if seconds:
            cache.set(_body_cache_key(application, full_history=full_history), parts, timeout=seconds)
    # Both are templates' output, SafeStrings, and stay so through the cache's pickling.
    body, question_fields = parts
    context = {"application": shown, "body": body, "question_fields": question_fields}
    return render(request, "applications/timeline/page.html", context)


@login_required
@customers_only
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
