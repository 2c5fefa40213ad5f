"""A customer's requests under the privacy law (PIPL): a correction of their personal data is a
staff task with a time limit on the working calendar (``services.privacy``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.pii import EncryptedField


class CorrectionRequest(models.Model):
    """A customer asks us to correct personal data we hold; staff answer it by ``due_at``."""

    class Subject(models.TextChoices):
        NAME = "name", _("My name")
        ID_NUMBER = "id_number", _("My ID card number")
        PHONE = "phone", _("My mobile number")
        EMAIL = "email", _("My email address")
        EMPLOYMENT = "employment", _("My employment or employer")
        INCOME = "income", _("My income or debts")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Being handled")
        DONE = "done", _("Corrected")
        REFUSED = "refused", _("Not corrected")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="correction_requests",
        verbose_name=_("customer account"),
    )
    # The file it is about, when the customer names one; a draft deleted later leaves it empty.
    application = models.ForeignKey(
        "applications.LoanApplication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("application"),
    )
    subject = models.CharField(_("what is wrong"), max_length=20, choices=Subject.choices)
    # The correct value in the customer's words: personal data, encrypted like the applicant's.
    details = EncryptedField(_("what it should say"), blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("asked"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due"))
    resolved_at = models.DateTimeField(_("answered"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    # What the customer is told: what was corrected, or why not.
    response = models.TextField(_("answer to the customer"), blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        indexes = [
            # The staff's queue: the open ones, soonest due first.
            models.Index(fields=["due_at"], condition=models.Q(status="open"), name="correction_open_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_subject_display()} ({self.get_status_display()})"
