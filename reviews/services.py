"""Writes of the back office: assignments (automatic, claimed, reassigned) and logged unmasking.

Every assignment change happens under the application's row lock and is written to the
application's history as an ``assignment`` event, in the same transaction.

Who is eligible for an application in a stage: an active staff member of the role of an active rule
that covers the stage, amount and dealer region, holding the permission the stage's work needs
(``choices.STAGE_PERMISSION``) and the role's own (``choices.ROLE_PERMISSION``: a senior approver
must hold ``approve_large_application``), and not barred by four-eyes: an application's reviewer
never approves it, its approver never releases its money.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import STAFF_ROLES
from applications import services as core
from applications.choices import EventKind, Stage
from applications.models import Applicant, LoanApplication, StageDefinition, StageEvent

from .choices import ROLE_PERMISSION, STAGE_PERMISSION, AssignmentAction, PiiField
from .models import Assignment, AssignmentRule, PiiAccessLog

MANAGE_PERMISSION = "applications.manage_applications"
PII_PERMISSION = "applications.view_full_pii"


class AssignmentRefused(Exception):
    """An assignment that may not happen; ``str(exc)`` is a message fit for the user."""


# --- Who may work an application ----------------------------------------------------------------


def _holding(perm: str) -> Q:
    """Users holding ``perm`` through a group or directly, or superusers (a subquery each, no join)."""
    app_label, codename = perm.split(".", 1)
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    via_group = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__permissions__in=permission)
    direct = User.user_permissions.through.objects.filter(user_id=OuterRef("pk"), permission__in=permission)
    return Q(is_superuser=True) | Q(Exists(via_group)) | Q(Exists(direct))


def _members(*roles: str) -> list[int]:
    """Ids of the members of the roles' groups: a few staff, read first (one small query) so the
    candidate query filters on known ids. As a subquery, PostgreSQL guessed thousands of members
    (the customers' group is in the same table) and spent longer compiling the plan than running it."""
    return list(User.groups.through.objects.filter(group__name__in=roles).values_list("user_id", flat=True))


def four_eyes_barred(*, application: LoanApplication, stage: str) -> set[int]:
    """Who may not work the application in ``stage``: its reviewer in approval, its approver in
    disbursement (the transition permissions refuse them too; this keeps them off the queue)."""
    if stage == Stage.APPROVAL and application.reviewed_by_id:
        return {application.reviewed_by_id}
    if stage == Stage.DISBURSEMENT and application.approved_by_id:
        return {application.approved_by_id}
    return set()


def matching_rules(*, application: LoanApplication, stage: str | None = None) -> list[AssignmentRule]:
    """The active rules covering the application in ``stage``, in priority order (1 query)."""
    stage = stage or application.stage
    return [r for r in AssignmentRule.objects.filter(is_active=True) if r.matches(application, stage=stage)]


def _rule_q(rule: AssignmentRule) -> Q:
    return Q(pk__in=_members(rule.role)) & _holding(ROLE_PERMISSION[rule.role])


def rule_candidates(*, application: LoanApplication, rule: AssignmentRule, stage: str) -> QuerySet:
    """The people ``rule`` may give the application to in ``stage``, least loaded first: fewest
    open assignments, then longest idle (oldest last assignment, never-assigned first), then id.

    Load and idleness are subqueries per candidate on the assignments' indexes (open ones by
    assignee; assignee and time), so a pick costs the same however long the history grows.
    """
    if stage not in STAGE_PERMISSION or rule.role not in ROLE_PERMISSION:
        return User.objects.none()
    open_count = (
        Assignment.objects.filter(assignee_id=OuterRef("pk"), released_at__isnull=True)
        .order_by()
        .values("assignee_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    last_assigned = (
        Assignment.objects.filter(assignee_id=OuterRef("pk"))
        .order_by("-assigned_at")
        .values("assigned_at")[:1]
    )
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(_rule_q(rule), _holding(STAGE_PERMISSION[stage]))
        .exclude(pk__in=four_eyes_barred(application=application, stage=stage))
        .annotate(
            open_assignments=Coalesce(Subquery(open_count), 0),
            last_assigned_at=Subquery(last_assigned),
        )
        .order_by("open_assignments", F("last_assigned_at").asc(nulls_first=True), "pk")
    )


def eligible_assignees(*, application: LoanApplication, stage: str | None = None) -> QuerySet:
    """Everyone any matching rule allows, for "assign to me" and a manager's reassignment."""
    stage = stage or application.stage
    rules = matching_rules(application=application, stage=stage)
    if not rules or stage not in STAGE_PERMISSION:
        return User.objects.none()
    any_rule = Q()
    for rule in rules:
        any_rule |= _rule_q(rule)
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(any_rule, _holding(STAGE_PERMISSION[stage]))
        .exclude(pk__in=four_eyes_barred(application=application, stage=stage))
        .order_by("username")
    )


def _refusal(*, application: LoanApplication, user: User, yourself: bool) -> AssignmentRefused:
    """Why ``user`` may not work the application now, in words that name the rule broken."""
    name = user.get_username()
    if user.pk in four_eyes_barred(application=application, stage=application.stage):
        if application.stage == Stage.APPROVAL:
            text = (
                _("You recommended this application, so someone else must approve it.")
                if yourself
                else _("%(name)s recommended this application, so someone else must approve it.")
            )
        else:
            text = (
                _("You approved this application, so someone else must release the money.")
                if yourself
                else _("%(name)s approved this application, so someone else must release the money.")
            )
        return AssignmentRefused(text % {"name": name})
    if not matching_rules(application=application):
        return AssignmentRefused(_("No assignment rule covers this application at this stage."))
    text = (
        _("Your role does not work this application at this stage.")
        if yourself
        else _("%(name)s’s role does not work this application at this stage.")
    )
    return AssignmentRefused(text % {"name": name})


# --- Writing assignments ------------------------------------------------------------------------


def open_assignment(*, application: LoanApplication) -> Assignment | None:
    return (
        Assignment.objects.filter(application=application, released_at__isnull=True)
        .select_related("assignee")
        .first()
    )


def _lock(application_id: int) -> LoanApplication:
    # Lock the application row only: the dealer is the nullable side of an outer join, which
    # PostgreSQL cannot lock.
    return (
        LoanApplication.objects.select_for_update(of=("self",))
        .select_related("dealer")
        .get(pk=application_id)
    )


def _event(
    *,
    application: LoanApplication,
    action: str,
    actor: User | None,
    data: dict[str, Any],
    now: dt.datetime,
    note: str = "",
) -> None:
    core.application_event_add(
        application=application,
        kind=EventKind.ASSIGNMENT,
        actor=actor,
        note=note,
        data={"action": action, **data},
        now=now,
    )


def _assign(
    *,
    application: LoanApplication,
    assignee: User,
    action: str,
    actor: User | None = None,
    rule: AssignmentRule | None = None,
    now: dt.datetime,
) -> Assignment:
    """Release the open assignment, open one for ``assignee``, and record both as one event.
    The caller holds the application's row lock."""
    previous = open_assignment(application=application)
    if previous is not None:
        Assignment.objects.filter(pk=previous.pk).update(released_at=now)
    assignment = Assignment.objects.create(
        application=application,
        stage=application.stage,
        assignee=assignee,
        rule=rule,
        assigned_by=actor,
        assigned_at=now,
    )
    _event(
        application=application,
        action=action,
        actor=actor,
        now=now,
        data={
            "stage": application.stage,
            "assignee": assignee.pk,
            "assignee_name": assignee.get_username(),
            "previous": previous.assignee_id if previous else None,
            "previous_name": previous.assignee.get_username() if previous else "",
            "rule": rule.pk if rule else None,
        },
    )
    return assignment


def _release(
    *, application: LoanApplication, assignment: Assignment, now: dt.datetime, actor: User | None = None
) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(released_at=now)
    _event(
        application=application,
        action=AssignmentAction.RELEASED,
        actor=actor,
        now=now,
        data={
            "stage": assignment.stage,
            "assignee": None,
            "previous": assignment.assignee_id,
        },
    )


def _assign_least_loaded(*, application: LoanApplication, now: dt.datetime) -> Assignment | None:
    """The caller holds the row lock (``application`` is the locked copy)."""
    for rule in matching_rules(application=application):
        person = rule_candidates(application=application, rule=rule, stage=application.stage).first()
        if person is not None:
            return _assign(
                application=application,
                assignee=person,
                rule=rule,
                action=AssignmentAction.AUTOMATIC,
                now=now,
            )
    previous = open_assignment(application=application)
    if previous is not None:
        _release(application=application, assignment=previous, now=now)
    return None


def assignment_auto(*, application: LoanApplication, now: dt.datetime | None = None) -> Assignment | None:
    """Give the application to the least-loaded eligible person of the first matching rule that
    has one; None (and nothing open) when nobody is eligible, so it waits in "unassigned"."""
    now = now or timezone.now()
    with transaction.atomic():
        return _assign_least_loaded(application=_lock(application.pk), now=now)


def documents_requester(*, application: LoanApplication) -> int | None:
    """Who sent the file to the customer for documents the last time: the actor of the latest
    transition into "awaiting documents", read from the history (None: the pre-check asked)."""
    return (
        StageEvent.objects.filter(
            application=application, kind=EventKind.TRANSITION, to_stage=Stage.AWAITING_DOCUMENTS
        )
        .order_by("-sequence")
        .values_list("actor_id", flat=True)
        .first()
    )


def _assign_back_to_requester(*, application: LoanApplication, now: dt.datetime) -> Assignment | None:
    """The reviewer who asked for the documents gets the file back, when they still may work it
    (active, in a role a rule gives the file to, not barred by four-eyes). The caller holds the lock."""
    requester_id = documents_requester(application=application)
    if requester_id is None:
        return None
    requester = eligible_assignees(application=application).filter(pk=requester_id).first()
    if requester is None:
        return None
    return _assign(application=application, assignee=requester, action=AssignmentAction.RETURNED, now=now)


def assignment_on_stage_change(
    *, application_id: int, now: dt.datetime, from_stage: str = ""
) -> Assignment | None:
    """A stage change ends the open assignment; a stage with a staff owner gets a new one: back from
    the customer's documents, the reviewer who asked for them; otherwise the least loaded.

    Called by the stage hook inside the transition's transaction, which holds the row lock: the
    row is read (and locked, a no-op) here, with the stage and the fields the rules match on."""
    with transaction.atomic():
        locked = _lock(application_id)
        owner = (
            StageDefinition.objects.filter(stage=locked.stage).values_list("owner_role", flat=True).first()
        )
        if owner in STAFF_ROLES:
            if from_stage == Stage.AWAITING_DOCUMENTS and locked.stage == Stage.UNDER_REVIEW:
                returned = _assign_back_to_requester(application=locked, now=now)
                if returned is not None:
                    return returned
            return _assign_least_loaded(application=locked, now=now)
        previous = open_assignment(application=locked)
        if previous is not None:
            _release(application=locked, assignment=previous, now=now)
    return None


def assignment_claim(
    *, application: LoanApplication, actor: User, now: dt.datetime | None = None
) -> Assignment:
    """ "Assign to me": for an application the actor is eligible for, unassigned or held by a
    colleague. Taking a colleague's file is allowed but never silent: the history's assignment
    event names whom it was taken from (staff act only on files they hold, see
    ``applications.services.lifecycle``), and the colleague sees it leave their queue."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(application.pk)
        current = open_assignment(application=locked)
        if current is not None and current.assignee_id == actor.pk:
            return current
        if not eligible_assignees(application=locked).filter(pk=actor.pk).exists():
            raise _refusal(application=locked, user=actor, yourself=True)
        return _assign(
            application=locked, assignee=actor, actor=actor, action=AssignmentAction.CLAIMED, now=now
        )


def assignment_reassign(
    *, application: LoanApplication, assignee: User, actor: User, now: dt.datetime | None = None
) -> Assignment:
    """A manager gives the application to another eligible person (four-eyes still holds)."""
    if not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("Only managers may reassign work."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(application.pk)
        current = open_assignment(application=locked)
        if current is not None and current.assignee_id == assignee.pk:
            return current
        if not eligible_assignees(application=locked).filter(pk=assignee.pk).exists():
            raise _refusal(application=locked, user=assignee, yourself=assignee.pk == actor.pk)
        return _assign(
            application=locked, assignee=assignee, actor=actor, action=AssignmentAction.REASSIGNED, now=now
        )


# --- Personal data in full ----------------------------------------------------------------------


@dataclass(frozen=True)
class Revealed:
    field: str
    value: str
    log: PiiAccessLog


def pii_reveal(
    *, application: LoanApplication, actor: User, field: str, now: dt.datetime | None = None
) -> Revealed:
    """The applicant's ``field`` in full, for a holder of view_full_pii; every call logs a row."""
    if not actor.has_perm(PII_PERMISSION):
        raise PermissionDenied(_("You are not allowed to see personal data in full."))
    if field not in PiiField.values:
        raise ValueError(f"not a revealable field: {field!r}")
    applicant = Applicant.objects.only(field).get(application=application)
    log = PiiAccessLog.objects.create(
        user=actor, application=application, field=field, viewed_at=now or timezone.now()
    )
    return Revealed(field=field, value=getattr(applicant, field), log=log)
