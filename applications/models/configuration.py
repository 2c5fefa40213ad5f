"""Configuration as data: the stages, documents, reasons, products, dealers and blacklist staff edit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.roles import Role

from ..choices import NEW_ENERGY_POWERTRAINS, ReasonKind, Stage


class Bilingual(models.Model):
    """Content kept in both languages; ``localized("title")`` picks the active one."""

    class Meta:
        abstract = True

    def localized(self, field: str) -> str:
        suffix = "en" if (get_language() or "").startswith("en") else "zh_hans"
        return getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh_hans")


class DocumentType(Bilingual):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    help_zh_hans = models.TextField(_("how to provide it (Chinese)"), blank=True)
    help_en = models.TextField(_("how to provide it (English)"), blank=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")

    def __str__(self) -> str:
        return self.localized("name")


class Reason(Bilingual):
    """The catalogue of delay, rejection and document-problem reasons the customer is shown."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ReasonKind.choices)
    text_zh_hans = models.CharField(_("customer text (Chinese)"), max_length=200)
    text_en = models.CharField(_("customer text (English)"), max_length=200)
    remedy_zh_hans = models.TextField(_("what happens next / what to do (Chinese)"), blank=True)
    remedy_en = models.TextField(_("what happens next / what to do (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("reason")
        verbose_name_plural = _("reason catalogue")

    def __str__(self) -> str:
        return f"{self.code}: {self.localized('text')}"


class StageDefinition(Bilingual):
    """One stage's time limit, owner and customer-facing words."""

    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices, unique=True)
    sla = models.DurationField(_("time limit"), null=True, blank=True)
    owner_role = models.CharField(_("owner role"), max_length=30, choices=Role.choices, blank=True)
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    explanation_zh_hans = models.TextField(_("what happens now (Chinese)"))
    explanation_en = models.TextField(_("what happens now (English)"))
    customer_action_zh_hans = models.TextField(_("what you can do (Chinese)"), blank=True)
    customer_action_en = models.TextField(_("what you can do (English)"), blank=True)
    required_document_types = models.ManyToManyField(
        DocumentType, blank=True, verbose_name=_("documents required to leave this stage")
    )
    # Expiry (``applications.expiry``): when a file left waiting on the customer closes by itself.
    expires_at_deadline = models.BooleanField(
        _("expires at the customer's deadline"),
        default=False,
        help_text=_(
            "A file still in this stage when its time limit has run out closes as expired: the "
            "deadline the customer was shown, counted from when the stage began. Only for waiting "
            "for documents and the offer."
        ),
    )
    expires_when_untouched = models.DurationField(
        _("expires when untouched for"),
        null=True,
        blank=True,
        help_text=_("Drafts only: a draft nobody has changed for this long closes as expired. Empty: never."),
    )
    last_reminder_before = models.DurationField(
        _("last reminder before expiry"),
        null=True,
        blank=True,
        help_text=_("The customer gets one last reminder this long before the file expires. Empty: none."),
    )

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords(m2m_fields=[required_document_types])

    class Meta:
        ordering = ["id"]
        verbose_name = _("stage definition")
        verbose_name_plural = _("stage definitions")

    def __str__(self) -> str:
        return self.get_stage_display()

    def clean(self) -> None:
        """Expiry only where the state machine can expire a file and the rule has a clock."""
        from ..expiry import DEADLINE_STAGES, UNTOUCHED_STAGES

        errors = {}
        if self.expires_at_deadline and self.stage not in DEADLINE_STAGES:
            errors["expires_at_deadline"] = _(
                "Only waiting for documents and the offer expire at a deadline."
            )
        elif self.expires_at_deadline and self.sla is None:
            errors["expires_at_deadline"] = _("Set the time limit: it is the deadline.")
        if self.expires_when_untouched is not None and self.stage not in UNTOUCHED_STAGES:
            errors["expires_when_untouched"] = _("Only drafts expire when untouched.")
        if self.last_reminder_before is not None:
            expires = self.expires_at_deadline or self.expires_when_untouched is not None
            if not expires:
                errors["last_reminder_before"] = _(
                    "This stage does not expire: there is nothing to remind of."
                )
            elif self.last_reminder_before <= dt.timedelta(0):
                errors["last_reminder_before"] = _("The reminder must come before the file expires.")
        if errors:
            raise ValidationError(errors)


class Dealer(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    region = models.CharField(_("region"), max_length=60)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="dealerships", verbose_name=_("staff")
    )

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords(m2m_fields=[staff])

    class Meta:
        ordering = ["name"]
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")

    def __str__(self) -> str:
        return self.name


class LoanProduct(Bilingual):
    """A loan product. Green products favour new-energy vehicles with a lower rate and down payment."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    min_rate = models.DecimalField(_("lowest annual rate"), max_digits=6, decimal_places=4)
    max_rate = models.DecimalField(_("highest annual rate"), max_digits=6, decimal_places=4)
    terms = models.JSONField(_("terms (months)"), default=list)
    min_amount = models.DecimalField(_("smallest loan"), max_digits=12, decimal_places=2)
    max_amount = models.DecimalField(_("largest loan"), max_digits=12, decimal_places=2)
    min_down_payment_ratio = models.DecimalField(
        _("minimum down payment"), max_digits=4, decimal_places=3, default=Decimal("0.200")
    )
    new_energy_min_down_payment_ratio = models.DecimalField(
        _("minimum down payment, new-energy vehicle"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.150"),
    )
    new_energy_rate_discount = models.DecimalField(
        _("rate discount, new-energy vehicle"), max_digits=6, decimal_places=4, default=Decimal("0")
    )
    new_energy_only = models.BooleanField(_("new-energy vehicles only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")

    def __str__(self) -> str:
        return self.localized("name")

    def min_down_payment_ratio_for(self, powertrain: str) -> Decimal:
        if powertrain in NEW_ENERGY_POWERTRAINS:
            return self.new_energy_min_down_payment_ratio
        return self.min_down_payment_ratio

    def rate_range_for(self, powertrain: str) -> tuple[Decimal, Decimal]:
        discount = self.new_energy_rate_discount if powertrain in NEW_ENERGY_POWERTRAINS else 0
        return self.min_rate - discount, self.max_rate - discount


# --- The application ----------------------------------------------------------------------------


class BlacklistEntry(models.Model):
    """A person the pre-check must refuse, found by the keyed hash of the ID number."""

    id_number_hash = models.CharField(max_length=64, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")

    def __str__(self) -> str:
        return self.note or self.id_number_hash[:12]
