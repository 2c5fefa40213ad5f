"""The back office: who works which application (rules and assignments) and who saw what in full."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import User
from accounts.roles import STAFF_ROLES, Role
from applications.choices import Stage
from applications.models import Document, LoanApplication

from .choices import AccessKind


class AssignmentRule(models.Model):
    """Who gets an application entering one of ``stages``: the least-loaded eligible member of
    ``role``, when the requested amount and the dealer's region fit.

    Rules are tried by ``priority`` (lowest first); the first with an eligible person wins, so a
    lower-priority rule is a fallback (senior approvers covering standard approvals, say).
    The amount range is "more than ``min_amount``, up to ``max_amount``": a rule for large loans
    says "more than 300,000" and the standard one "up to 300,000", and no amount falls between.
    """

    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(
        _("role"), max_length=30, choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES]
    )
    stages = models.JSONField(_("stages"), default=list)
    min_amount = models.DecimalField(
        _("requested amount more than"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_amount = models.DecimalField(
        _("requested amount up to"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    dealer_region = models.CharField(
        _("dealer region"), max_length=60, blank=True, help_text=_("Leave empty for every region.")
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Rules are tried from the lowest number up.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = [stage for stage in self.stages or [] if stage not in Stage.values]
        if not self.stages or unknown:
            raise ValidationError({"stages": _("Choose at least one stage.")})
        if self.min_amount is not None and self.max_amount is not None and self.min_amount >= self.max_amount:
            raise ValidationError({"max_amount": _("The upper limit must be above the lower one.")})

    def matches(self, application: LoanApplication, *, stage: str | None = None) -> bool:
        """Does this rule cover the application in ``stage`` (default: its current stage)?"""
        if not self.is_active or (stage or application.stage) not in self.stages:
            return False
        amount = application.requested_amount or Decimal("0")
        if self.min_amount is not None and amount <= self.min_amount:
            return False
        if self.max_amount is not None and amount > self.max_amount:
            return False
        if self.dealer_region:
            region = application.dealer.region if application.dealer_id else ""
            if region.strip().casefold() != self.dealer_region.strip().casefold():
                return False
        return True


class Assignment(models.Model):
    """One person's turn with one application in one stage: open until ``released_at``.

    An application has at most one open assignment (a partial unique constraint); every change is
    also an ``assignment`` event in the application's history.
    """

    application = models.ForeignKey(
        LoanApplication, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("application")
    )
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("assignee"),
    )
    rule = models.ForeignKey(
        AssignmentRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned by"),
        help_text=_("Empty when the rules assigned it."),
    )
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(released_at__isnull=True),
                name="one_open_assignment_per_application",
            )
        ]
        indexes = [
            # Counting each person's open work, for the least-loaded pick.
            models.Index(
                fields=["assignee"], condition=Q(released_at__isnull=True), name="open_assignments_by_user"
            ),
            models.Index(fields=["assignee", "assigned_at"], name="assignments_by_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.assignee}"


class PiiAccessLog(models.Model):
    """One row each time someone saw a field of personal data in full, or opened one of the file's
    documents (``field`` says which: ``AccessKind``; ``document`` names the document)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    application = models.ForeignKey(
        LoanApplication, on_delete=models.PROTECT, related_name="+", verbose_name=_("application")
    )
    field = models.CharField(_("what"), max_length=20, choices=AccessKind.choices)
    document = models.ForeignKey(
        Document,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document"),
    )
    viewed_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-viewed_at"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")

    def __str__(self) -> str:
        return f"{self.user} · {self.application} · {self.get_field_display()}"


class StaffMember(User):
    """The back office's colleagues as managers see them (admin → Staff sign-in): a proxy of the
    account, for the managers' "reset second factor" and "sign out" actions. No table of its own."""

    class Meta:
        proxy = True
        verbose_name = _("staff member")
        verbose_name_plural = _("staff sign-in")


class CannedAnswer(models.Model):
    """A prepared answer to a common question, picked when answering a customer (then edited if
    need be): managers keep them in the admin."""

    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("answer"))
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    class Meta:
        ordering = ["position", "title"]
        verbose_name = _("canned answer")
        verbose_name_plural = _("canned answers")

    def __str__(self) -> str:
        return self.title
