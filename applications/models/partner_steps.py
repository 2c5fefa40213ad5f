"""Third parties' steps within a stage (credit bureau, insurer, GPS installer, e-signature service,
vehicle registry, bank), each with its own clock on the working calendar.

Which steps a stage needs is configuration (``PartnerStepRequirement``, edited by managers in the
admin, defaults in ``defaults.partner_steps``); a ``PartnerStep`` is one request of one file, made
when the file enters the stage (``services.partner_steps``). Its due time is computed once, when it
is requested (or requested again after a failure), never recomputed.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import OPEN_PARTNER_STATUSES, PartnerStepKind, PartnerStepStatus, ReasonKind, Stage
from ..sla import SlaState


class PartnerStepRequirement(models.Model):
    """A stage needs a partner's step: which, from whom, how long it may take, and whether the
    stage waits for it (a required step must be done before the stage moves on)."""

    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    kind = models.CharField(_("step"), max_length=30, choices=PartnerStepKind.choices)
    partner_name = models.CharField(_("partner"), max_length=100)
    limit_hours = models.PositiveSmallIntegerField(
        _("time limit (working hours)"),
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("Counted on the working calendar: a working day is its working hours."),
    )
    required = models.BooleanField(
        _("required"), default=True, help_text=_("The stage cannot move on until this step is done.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed what and when (django-simple-history), shown in the admin.
    history = HistoricalRecords()

    class Meta:
        ordering = ["stage", "kind"]
        verbose_name = _("partner step requirement")
        verbose_name_plural = _("partner step requirements")
        constraints = [models.UniqueConstraint(fields=["stage", "kind"], name="partner_requirement_unique")]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.get_kind_display()}"


class PartnerStep(models.Model):
    """One partner's step for one file, in the stay of the stage that asked for it."""

    application = models.ForeignKey(
        "applications.LoanApplication",
        on_delete=models.CASCADE,
        related_name="partner_steps",
        verbose_name=_("application"),
    )
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    kind = models.CharField(_("step"), max_length=30, choices=PartnerStepKind.choices)
    partner_name = models.CharField(_("partner"), max_length=100)
    required = models.BooleanField(_("required"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PartnerStepStatus.choices, default=PartnerStepStatus.REQUESTED
    )
    limit_hours = models.PositiveSmallIntegerField(_("time limit (working hours)"))
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    at_risk_at = models.DateTimeField(_("at risk from"))
    due_at = models.DateTimeField(_("due"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    failure_cause = models.ForeignKey(
        "applications.Reason",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": ReasonKind.DELAY},
        verbose_name=_("cause of failure"),
    )
    # The sweep's clock for an open step (``services.partner_steps_sla_advance``).
    sla_state = models.CharField(
        _("SLA state"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TIME
    )
    # Usual length in working days (0: under a day), fixed when requested: the customer's words.
    usual_days = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["requested_at", "pk"]
        verbose_name = _("partner step")
        verbose_name_plural = _("partner steps")
        indexes = [
            # The sweep: open steps by due time. Small: open steps only.
            models.Index(
                fields=["due_at"],
                name="partner_step_open_due",
                condition=models.Q(status__in=sorted(OPEN_PARTNER_STATUSES)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PARTNER_STATUSES
