"""A notification's words, in the reader's language, from its kind and context.

Rows store only a kind and a few codes (stage, reason, document type), never sentences, so the
inbox, an email and an SMS each render them in whatever language is active when they are read or
sent (``translation.override(user.language)`` for a message sent by a task).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.choices import PartnerStepKind, Stage
from applications.models import DocumentType, Reason
from applications.reference import reference_data
from applications.templatetags.timeline import when

from .choices import Kind
from .models import Notification


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def reason_codes(notifications: Iterable[Notification]) -> set[str]:
    return {n.context.get("reason") for n in notifications if n.context.get("reason")}


def document_type_codes(notifications: Iterable[Notification]) -> set[str]:
    return {n.context.get("document_type") for n in notifications if n.context.get("document_type")}


def _stage_label(code: str) -> str:
    """The stage as the customer's timeline and home page name it: the stage definition's title (from
    the cached configuration), so the inbox and the timeline use one term per stage; the choice's
    label for a stage without a definition."""
    definition = reference_data().definitions.get(code)
    if definition is not None:
        return definition.localized("title")
    try:
        return str(Stage(code).label)
    except ValueError:
        return code


def render(
    notification: Notification,
    *,
    reasons: Mapping[str, Reason] | None = None,
    document_types: Mapping[str, DocumentType] | None = None,
) -> Rendered:
    """Title and body in the active language. Pass ``reasons`` / ``document_types`` (by code) when
    rendering many, so the catalogue is read once; otherwise each is looked up here."""
    context = notification.context or {}
    reference = (
        notification.application.display_reference
        if notification.application_id
        else context.get("reference", "")
    )
    stage = context.get("stage", "")
    reason_text = remedy = ""
    if code := context.get("reason"):
        reason = (
            (reasons or {}).get(code) if reasons is not None else Reason.objects.filter(code=code).first()
        )
        reason_text = reason.localized("text") if reason else ""
        remedy = reason.localized("remedy") if reason else ""
    document = ""
    if code := context.get("document_type"):
        doc_type = (
            (document_types or {}).get(code)
            if document_types is not None
            else DocumentType.objects.filter(code=code).first()
        )
        document = doc_type.localized("name") if doc_type else code
    values = {
        "reference": reference,
        "stage": _stage_label(stage),
        "reason": reason_text,
        "document": document,
    }

    if notification.kind == Kind.DOCUMENTS_REQUESTED:
        return Rendered(
            _("Documents needed"),
            _("Application %(reference)s needs documents from you. Open it to see the list and upload them.")
            % values,
        )
    if notification.kind == Kind.DOCUMENT_REJECTED:
        body = (
            _(
                "A document for application %(reference)s was not accepted: %(document)s (%(reason)s). Please upload a new one."
            )
            if reason_text
            else _(
                "A document for application %(reference)s was not accepted: %(document)s. Please upload a new one."
            )
        )
        return Rendered(_("A document needs replacing"), body % values)
    if notification.kind == Kind.OFFER_READY:
        return Rendered(
            _("Your offer is ready"),
            _(
                "Application %(reference)s has been approved. Read the offer and accept or decline it before it expires."
            )
            % values,
        )
    if notification.kind == Kind.DECISION:
        return Rendered(
            _("A decision on your application"), _decision_body(stage, bool(reason_text)) % values
        )
    if notification.kind == "delay_notice":  # the SLA sweep, or a cause of delay set
        if reason_text and remedy:
            body = _(
                "Application %(reference)s is taking longer than planned at “%(stage)s”: %(reason)s. "
                "%(remedy)s"
            ) % {**values, "remedy": remedy}
        elif reason_text:
            body = (
                _(
                    "Application %(reference)s is taking longer than planned at “%(stage)s”: %(reason)s. "
                    "We will let you know as soon as it moves on."
                )
                % values
            )
        else:
            body = (
                _(
                    "Application %(reference)s is taking longer than planned at “%(stage)s”. "
                    "We will let you know as soon as it moves on."
                )
                % values
            )
        return Rendered(_kind_label(notification.kind), body)
    if notification.kind == "documents_reminder":
        return Rendered(
            _kind_label(notification.kind),
            _(
                "Application %(reference)s is still waiting for documents from you. "
                "Open it to see the list and upload them."
            )
            % values,
        )
    if notification.kind in _STAFF_WORDS:  # the sweep's messages to staff
        return Rendered(_kind_label(notification.kind), str(_STAFF_WORDS[notification.kind]) % values)
    if notification.kind == Kind.QUESTION_ANSWERED:
        return Rendered(
            _kind_label(notification.kind),
            _("We have answered your question about application %(reference)s. Open it to read the answer.")
            % values,
        )
    if notification.kind == Kind.QUESTION_REMINDER:
        words = (
            _("A customer's question about application %(reference)s is past its first-response time limit.")
            if context.get("level") == "breached"
            else _(
                "A customer's question about application %(reference)s is close to its first-response time limit."
            )
        )
        return Rendered(_kind_label(notification.kind), words % values)
    if notification.kind == Kind.QUESTION_ESCALATION:
        return Rendered(
            _kind_label(notification.kind),
            _(
                "A customer's question about application %(reference)s is past its first-response time "
                "limit and has been escalated to you."
            )
            % values,
        )
    if notification.kind in (Kind.PARTNER_STEP_REMINDER, Kind.PARTNER_STEP_ESCALATION):
        step = context.get("step", "")
        values = {**values, "step": PartnerStepKind(step).label if step in PartnerStepKind.values else step}
        if notification.kind == Kind.PARTNER_STEP_ESCALATION:
            words = _(
                "The partner's step “%(step)s” for application %(reference)s is past its time limit and "
                "has been escalated to you."
            )
        elif context.get("level") == "breached":
            words = _(
                "The partner's step “%(step)s” for application %(reference)s is past its time limit: "
                "chase the partner."
            )
        else:
            words = _(
                "The partner's step “%(step)s” for application %(reference)s is close to its time limit."
            )
        return Rendered(_kind_label(notification.kind), words % values)
    if notification.kind == Kind.STAGE_CHANGED:
        return Rendered(
            _("Your application moved on"), _("Application %(reference)s is now at: %(stage)s.") % values
        )
    if notification.kind == Kind.NEW_ASSIGNMENT:
        return Rendered(
            _kind_label(notification.kind),
            _("Application %(reference)s at “%(stage)s” is assigned to you.") % values,
        )
    if notification.kind == Kind.DAILY_DIGEST:
        counts = {key: context.get(key, 0) for key in ("breached", "at_risk", "open")}
        text = (
            _(
                "Today: %(breached)s applications past their time limit, %(at_risk)s close to it, "
                "%(open)s open in staff stages."
            )
            % counts
        )
        if context.get("corrections"):
            text += " " + _(
                "Correction requests from customers: %(corrections)s open, %(overdue)s past their due time."
            ) % {"corrections": context["corrections"], "overdue": context.get("corrections_overdue", 0)}
        return Rendered(_kind_label(notification.kind), text)
    if notification.kind == "expiry_warning":  # the last reminder before the file closes
        moment = when(dt.datetime.fromisoformat(context["expires"])) if context.get("expires") else ""
        return Rendered(_kind_label(notification.kind), _expiry_warning(stage) % {**values, "when": moment})
    # A kind added later and not worded here yet: still say which application it is about.
    return Rendered(
        _kind_label(notification.kind),
        _("There is news about application %(reference)s.") % values if reference else "",
    )


# Words for the kinds the SLA sweep sends to staff (by value: the kinds live in notifications.choices).
_STAFF_WORDS = {
    "sla_at_risk": gettext_lazy("Application %(reference)s is close to the time limit of “%(stage)s”."),
    "sla_breached": gettext_lazy("Application %(reference)s is past the time limit of “%(stage)s”."),
    "sla_escalation": gettext_lazy(
        "Application %(reference)s is overdue at “%(stage)s” and has been escalated to you."
    ),
}


def delay_cause(notification: Notification) -> tuple[str, str] | None:
    """A delay notice's cause and remedy in the active language (one query), for e-mail and SMS,
    which otherwise carry only the kind: the cause is no personal data. None for other kinds."""
    code = (notification.context or {}).get("reason")
    if notification.kind != Kind.DELAY_NOTICE or not code:
        return None
    reason = Reason.objects.filter(code=code).first()
    return (reason.localized("text"), reason.localized("remedy")) if reason else None


def _kind_label(kind: str) -> str:
    return str(Kind(kind).label) if kind in Kind.values else _("Update")


def _decision_body(stage: str, has_reason: bool) -> str:
    if stage == Stage.DISBURSED:
        return _("The loan for application %(reference)s has been paid to the dealer.")
    if stage == Stage.REJECTED:
        if has_reason:
            return _("Application %(reference)s was not approved: %(reason)s.")
        return _("Application %(reference)s was not approved.")
    if stage == Stage.WITHDRAWN:
        return _("Application %(reference)s was withdrawn.")
    if stage == Stage.EXPIRED:
        if has_reason:
            return _("Application %(reference)s expired: %(reason)s.")
        return _("Application %(reference)s expired.")
    return _("Application %(reference)s is now at: %(stage)s.")


def _expiry_warning(stage: str) -> str:
    """The last reminder's words for the stage that will expire (``%(when)s``: when it closes)."""
    if stage == Stage.OFFER_PENDING:
        return _(
            "Last reminder: the offer for application %(reference)s expires on %(when)s. "
            "Open it to accept or decline it before then."
        )
    if stage == Stage.DRAFT:
        return _(
            "Last reminder: your unfinished application %(reference)s will be closed on %(when)s "
            "unless you continue it before then."
        )
    return _(
        "Last reminder: application %(reference)s will be closed on %(when)s unless the documents "
        "we asked for arrive by then. Open it to see the list and upload them."
    )
