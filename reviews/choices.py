"""The back office's enumerations, and which stages each staff role works."""

from __future__ import annotations

from fractions import Fraction

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.roles import Role
from applications.choices import Stage
from applications.sla import AT_RISK_AT, SlaState

__all__ = ["AT_RISK_SHARE", "SlaState"]


# One definition of the SLA states and of "at risk" (80 % of the time between entering a stage and
# its due time), shared with the sweep. A fraction, so that the database compares whole durations.
AT_RISK_SHARE = Fraction(*AT_RISK_AT)


class Queue(models.TextChoices):
    """The two personal work views; "at risk" and "breached" are the SLA filter's values."""

    MINE = "mine", _("Assigned to me")
    UNASSIGNED = "unassigned", _("Unassigned in my stages")


class PiiField(models.TextChoices):
    """Personal data a permitted user may see in full, one logged view at a time."""

    ID_NUMBER = "id_number", _("ID card number")
    PHONE = "phone", _("mobile number")


class AccessKind(models.TextChoices):
    """What the access log records a member of staff seeing: an identifier in full ("show in
    full", ``PiiField``) or a document of the file opened."""

    ID_NUMBER = "id_number", _("ID card number")
    PHONE = "phone", _("mobile number")
    DOCUMENT = "document", _("document opened")


class AssignmentAction(models.TextChoices):
    """What an assignment event in the history records (its ``data["action"]``)."""

    AUTOMATIC = "automatic", pgettext_lazy("assignment", "Assigned automatically")
    CLAIMED = "claimed", pgettext_lazy("assignment", "Claimed")
    # Documents came back: the file goes to the reviewer who asked for them, while they still may.
    RETURNED = "returned", pgettext_lazy("assignment", "Back to the reviewer who asked for documents")
    REASSIGNED = "reassigned", pgettext_lazy("assignment", "Reassigned")
    RELEASED = "released", pgettext_lazy("assignment", "Released")


# The stages each staff role works: what its queue shows and where its buttons are. Reviewers
# keep the files waiting for documents they asked for (they may resume review); managers see all.
ROLE_STAGES: dict[str, frozenset[str]] = {
    Role.REVIEWER: frozenset({Stage.UNDER_REVIEW, Stage.AWAITING_DOCUMENTS}),
    Role.APPROVER: frozenset({Stage.APPROVAL}),
    Role.SENIOR_APPROVER: frozenset({Stage.APPROVAL}),
    Role.OPERATIONS: frozenset({Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION}),
    Role.FINANCE: frozenset({Stage.DISBURSEMENT}),
}

# The permission a person needs to do a stage's work (and so to be assigned to it).
STAGE_PERMISSION: dict[str, str] = {
    Stage.UNDER_REVIEW: "applications.review_application",
    Stage.AWAITING_DOCUMENTS: "applications.review_application",
    Stage.APPROVAL: "applications.approve_application",
    Stage.CONTRACT_SIGNING: "applications.process_contract",
    Stage.LIEN_REGISTRATION: "applications.process_contract",
    Stage.DISBURSEMENT: "applications.disburse_application",
}

# The permission that makes a member of a role's group a real member of it: a senior approver
# must hold approve_large_application, whatever else the group grants.
ROLE_PERMISSION: dict[str, str] = {
    Role.REVIEWER: "applications.review_application",
    Role.APPROVER: "applications.approve_application",
    Role.SENIOR_APPROVER: "applications.approve_large_application",
    Role.OPERATIONS: "applications.process_contract",
    Role.FINANCE: "applications.disburse_application",
    Role.MANAGER: "applications.manage_applications",
}
