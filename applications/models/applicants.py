"""The person applying and the consents they gave, as stated on one application."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.pii import EncryptedDecimalField, EncryptedField, mask_id_number, mask_phone

from ..choices import Employment, IncomeBand


class Applicant(models.Model):
    """The person applying, as stated on this application. ID, phone and income are encrypted."""

    application = models.OneToOneField(
        "applications.LoanApplication",
        on_delete=models.CASCADE,
        related_name="applicant",
        verbose_name=_("application"),
    )
    full_name = models.CharField(_("full name"), max_length=60)
    id_number = EncryptedField(_("ID card number"))
    id_number_hash = models.CharField(max_length=64, db_index=True, editable=False)
    birth_date = models.DateField(_("date of birth"))
    phone = EncryptedField(_("mobile number"))
    phone_hash = models.CharField(max_length=64, db_index=True, editable=False)
    employment = models.CharField(_("employment"), max_length=20, choices=Employment.choices)
    employer = models.CharField(_("employer"), max_length=120, blank=True)
    monthly_income = EncryptedDecimalField(_("monthly income"))
    # The income's coarse band in clear, for reports (SQL cannot group by the encrypted income).
    # Set by ``services.applicant_set`` whenever the income is saved; blank only while unknown.
    income_band = models.CharField(
        _("income band"), max_length=10, choices=IncomeBand.choices, blank=True, editable=False
    )
    monthly_debt = EncryptedDecimalField(_("existing monthly debt payments"))

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")

    def __str__(self) -> str:
        return self.full_name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Consent(models.Model):
    class Kind(models.TextChoices):
        CREDIT_CHECK = "credit_check", _("Consent to a credit bureau check")
        PRIVACY_NOTICE = "privacy_notice", _("Acceptance of the privacy notice")

    application = models.ForeignKey(
        "applications.LoanApplication", on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    notice_version = models.CharField(_("notice version"), max_length=20)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "notice_version"], name="one_consent_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.notice_version})"
