from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    STAGE_CHANGED = "stage_changed", _("Your application moved on")
    DOCUMENTS_REQUESTED = "documents_requested", _("Documents needed")
    DOCUMENT_REJECTED = "document_rejected", _("A document needs replacing")
    OFFER_READY = "offer_ready", _("Your offer is ready")
    DECISION = "decision", _("A decision on your application")
    # The SLA sweep (notifications.services.sla_sweep).
    SLA_AT_RISK = "sla_at_risk", _("A stage is close to its time limit")
    SLA_BREACHED = "sla_breached", _("A stage is overdue")
    SLA_ESCALATION = "sla_escalation", _("An overdue stage is escalated to you")
    DELAY_NOTICE = "delay_notice", _("Your application is taking longer than planned")
    DOCUMENTS_REMINDER = "documents_reminder", _("Reminder: documents needed")
    # The last reminder before a file expires (notifications.services.expiry_reminders_send).
    EXPIRY_WARNING = "expiry_warning", _("Last reminder before your application closes")
    NEW_ASSIGNMENT = "new_assignment", _("A file is assigned to you")
    DAILY_DIGEST = "daily_digest", _("Daily summary of delays and backlog")
    # The application's question thread: an answer for the customer (notify_customer); the first-
    # response clock's reminder to the file's owner and escalation to the managers (the SLA sweep).
    QUESTION_ANSWERED = "question_answered", _("Your question has been answered")
    QUESTION_REMINDER = "question_reminder", _("A customer's question waits for an answer")
    QUESTION_ESCALATION = "question_escalation", _("An unanswered question is escalated to you")
    # A partner's step close to or past its time limit (the SLA sweep): the file's owner chases the
    # partner; the managers are told once it is overdue.
    PARTNER_STEP_REMINDER = "partner_step_reminder", _("A partner's step is close to or past its time limit")
    PARTNER_STEP_ESCALATION = "partner_step_escalation", _("An overdue partner step is escalated to you")


# Kinds for staff: never sent to a customer, and words for staff in the back office.
STAFF_KINDS = frozenset(
    {
        Kind.SLA_AT_RISK,
        Kind.SLA_BREACHED,
        Kind.SLA_ESCALATION,
        Kind.NEW_ASSIGNMENT,
        Kind.DAILY_DIGEST,
        Kind.QUESTION_REMINDER,
        Kind.QUESTION_ESCALATION,
        Kind.PARTNER_STEP_REMINDER,
        Kind.PARTNER_STEP_ESCALATION,
    }
)


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the portal")
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    DEFERRED = "deferred", _("Deferred")
