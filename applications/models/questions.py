"""The customer's questions about an application and the staff's answers: one thread per file.

A customer's question that finds the thread answered opens a wait: it records when a first
response is due (``QUESTION_RESPONSE_LIMIT`` of working time later, on the working calendar) and,
once staff answer, when they did; the SLA report reads those two times. The thread keeps the
open wait's times too, for the staff queue (oldest due first) and the SLA sweep's reminders.
Internal notes are staff's only: no customer page, notification or history event shows them.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import MessageKind
from ..sla import SlaState


class QuestionThread(models.Model):
    """An application's "Ask about this application" thread (created with its first question)."""

    application = models.OneToOneField(
        "applications.LoanApplication",
        on_delete=models.CASCADE,
        related_name="question_thread",
        verbose_name=_("application"),
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    # The open wait: the oldest question not answered yet, and when its first response is due.
    awaiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    at_risk_at = models.DateTimeField(_("at risk from"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    # The sweep's clock for the open wait (``services.questions_sla_advance``): at risk, breached.
    sla_state = models.CharField(
        _("SLA state"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME
    )
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)

    class Meta:
        verbose_name = _("question thread")
        verbose_name_plural = _("question threads")
        indexes = [
            models.Index(
                fields=["response_due_at"],
                name="thread_awaiting_due",
                condition=models.Q(response_due_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return str(self.application)

    @property
    def awaiting_reply(self) -> bool:
        return self.response_due_at is not None


def attachment_upload_to(instance: ThreadMessage, filename: str) -> str:
    # A generated name, as for documents: the customer's file name never reaches the file system.
    return f"questions/{instance.thread.application.reference}/{secrets.token_hex(16)}"


class ThreadMessage(models.Model):
    """One message: the customer's question, a staff answer, or a staff-only internal note."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(
        QuestionThread, on_delete=models.CASCADE, related_name="messages", verbose_name=_("thread")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    body = models.TextField(_("message"))
    attachment = models.FileField(_("attachment"), upload_to=attachment_upload_to, blank=True)
    attachment_name = models.CharField(_("attachment name"), max_length=200, blank=True)
    attachment_type = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # A question that opened a wait: when its first response was due, and when staff gave it.
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    answered_at = models.DateTimeField(_("first response"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The SLA report: the waits opened in a range.
            models.Index(
                fields=["created_at"],
                name="message_wait_created",
                condition=models.Q(response_due_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def from_customer(self) -> bool:
        return self.kind == MessageKind.QUESTION

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.NOTE
