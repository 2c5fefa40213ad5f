"""Reads of the back office: the role-scoped work queue and each application's SLA state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
)
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import STAFF_ROLES, Role
from applications import prediction
from applications.choices import FINAL_STAGES, Stage
from applications.models import LoanApplication, QuestionThread, ThreadMessage

from .choices import AT_RISK_SHARE, ROLE_STAGES, Queue, SlaState
from .models import Assignment

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

# --- Who sees what ------------------------------------------------------------------------------


def user_roles(user: User | AnonymousUser) -> frozenset[str]:
    """The user's role names (their groups), read once per request and kept on the user object."""
    if not user.is_authenticated:
        return frozenset()
    # The cache is an attribute of this request's user object, which the model does not declare.
    if not hasattr(user, "_lp_roles"):
        user._lp_roles = frozenset(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    return user._lp_roles  # type: ignore[attr-defined]


def sees_every_stage(user: User | AnonymousUser) -> bool:
    return user.is_superuser or Role.MANAGER in user_roles(user)


def visible_stages(user: User | AnonymousUser) -> frozenset[str]:
    """The stages whose applications this user works: their roles' stages; every stage for managers."""
    if sees_every_stage(user):
        return frozenset(Stage.values)
    stages: set[str] = set()
    for role in user_roles(user):
        stages |= ROLE_STAGES.get(role, frozenset())
    return frozenset(stages)


def is_back_office(user: User | AnonymousUser) -> bool:
    return user.is_active and user.is_staff and bool(user_roles(user) & STAFF_ROLES or user.is_superuser)


# --- The queue ----------------------------------------------------------------------------------


def work_queue(*, user: User | AnonymousUser) -> QuerySet[LoanApplication]:
    """The applications in the user's stages with what a queue row shows: dealer, product, the
    applicant's name and phone (masked on display; ID number and income are not loaded) in one
    query, and the open assignment with its assignee in a second (``open_assignments``, a list of
    at most one) — two queries for a page, whatever its length.

    The assignment is prefetched rather than joined, and filtered on with EXISTS: the page query
    stays on the applications table and its one-to-one joins, so PostgreSQL walks the
    ``stage_due_at`` index and stops after a page instead of joining every matching row first.
    """
    stages = visible_stages(user)
    queryset = LoanApplication.objects.all()
    if not sees_every_stage(user):
        queryset = queryset.filter(stage__in=sorted(stages))
    return queue_rows(queryset)


def queue_rows(queryset: QuerySet[LoanApplication]) -> QuerySet[LoanApplication]:
    """What a queue row and the application page read of each application (see ``work_queue``)."""
    return (
        queryset.select_related("dealer", "product", "applicant", "delay_reason")
        .defer(
            "applicant__id_number",
            "applicant__monthly_income",
            "applicant__monthly_debt",
            "applicant__employer",
        )
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.filter(released_at__isnull=True).select_related("assignee"),
                to_attr="open_assignments",
            )
        )
    )


def _open_assignment_exists(**conditions: Any) -> Exists:
    return Exists(
        Assignment.objects.filter(application_id=OuterRef("pk"), released_at__isnull=True, **conditions)
    )


def filter_queue(queryset: QuerySet, *, queue: str, user: User | AnonymousUser) -> QuerySet:
    if queue == Queue.MINE:
        return queryset.filter(_open_assignment_exists(assignee_id=user.pk))
    if queue == Queue.UNASSIGNED:
        return queryset.filter(~_open_assignment_exists()).exclude(stage__in=FINAL_STAGES)
    return queryset


def filter_assignee(queryset: QuerySet, *, assignee_id: int | None) -> QuerySet:
    """Applications assigned to ``assignee_id``; with None, the unassigned ones."""
    if assignee_id is None:
        return queryset.filter(~_open_assignment_exists())
    return queryset.filter(_open_assignment_exists(assignee_id=assignee_id))


# The SLA filter's fourth value, beside the states: open files the prediction expects to finish late.
LIKELY_TO_BREACH = "likely"


def filter_sla(queryset: QuerySet, *, state: str, now: dt.datetime) -> QuerySet:
    """By SLA state. "At risk" is past 80 % of each row's own window (entry to due), computed in
    the database; the range on stage_due_at in front lets the (stage, stage_due_at) index do the
    work. Stages without a due time (final, draft) are in no SLA state. ``LIKELY_TO_BREACH``: the
    files ``with_breach_prediction`` marks (the prediction's figures: cached, else one query)."""
    if state == LIKELY_TO_BREACH:
        return prediction.filter_likely_to_breach(queryset, now=now)
    if state == SlaState.BREACHED:
        return queryset.filter(stage_due_at__lte=now)
    if state not in (SlaState.AT_RISK, SlaState.ON_TIME):
        return queryset
    # elapsed / window >= 4/5, as elapsed * 5 >= window * 4: whole durations on both sides.
    elapsed = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - F("stage_entered_at"), output_field=DurationField()
    )
    window = ExpressionWrapper(F("stage_due_at") - F("stage_entered_at"), output_field=DurationField())
    queryset = queryset.filter(stage_due_at__gt=now).alias(
        elapsed_share=ExpressionWrapper(elapsed * AT_RISK_SHARE.denominator, output_field=DurationField()),
        risk_share=ExpressionWrapper(window * AT_RISK_SHARE.numerator, output_field=DurationField()),
    )
    if state == SlaState.AT_RISK:
        return queryset.filter(elapsed_share__gte=F("risk_share"))
    return queryset.filter(elapsed_share__lt=F("risk_share"))


def current_assignees(application_ids: Collection[int]) -> dict[int, int]:
    """Who holds each of these applications now: {application id: assignee id}, for those with an
    open assignment (one query). The owner selector the notifications ask through
    ``settings.LOANPORTAL_OWNER_SELECTOR``: the SLA reminders go to the assignee."""
    return dict(
        Assignment.objects.filter(application_id__in=application_ids, released_at__isnull=True).values_list(
            "application_id", "assignee_id"
        )
    )


def assignee_choices() -> list[tuple[int, str]]:
    """Active staff in a back-office role, for the assignee filter (1 query; through the group
    memberships' index, not a scan of every customer account)."""
    members = User.groups.through.objects.filter(group__name__in=sorted(STAFF_ROLES)).values("user_id")
    return list(
        User.objects.filter(is_active=True, is_staff=True, pk__in=members)
        .order_by("username")
        .values_list("pk", "username")
    )


def with_breach_prediction(queryset: QuerySet, *, now: dt.datetime) -> QuerySet:
    """Each row with ``likely_to_breach``: its stage and product's recent stays (p80) say it will
    finish after its due time, which has not passed yet (``applications.prediction``). Computed in
    the page's own query; the figures come from the cache, else one query."""
    return prediction.annotate_likely_to_breach(queryset, now=now)


# --- SLA state of one row (no query) ------------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    state: SlaState
    due_at: dt.datetime
    remaining: dt.timedelta  # negative once breached
    likely_to_breach: bool = False  # predicted to finish late; only while not breached yet

    @property
    def text(self) -> str:
        """ "3 hours, 20 minutes left" or "overdue by 2 days, 1 hour", in the active language."""
        if self.remaining >= dt.timedelta(0):
            return _("%(time)s left") % {"time": _duration(self.remaining)}
        return _("overdue by %(time)s") % {"time": _duration(-self.remaining)}


def _duration(delta: dt.timedelta) -> str:
    # Django's own wording and translations ("2 days, 3 hours"), to the minute.
    if delta < dt.timedelta(minutes=1):
        delta = dt.timedelta(minutes=1)
    anchor = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return timeuntil(anchor + delta, anchor, depth=2)


def sla_of(application: LoanApplication, *, now: dt.datetime) -> Sla | None:
    """On time, at risk (past 80 % of the window from entering the stage to its due time) or
    breached (past the due time); None for a stage without a time limit. Likely to breach when the
    row carries the prediction's verdict (``with_breach_prediction``, as the queue's rows do)."""
    due = application.stage_due_at
    if due is None or application.stage in FINAL_STAGES:
        return None
    remaining = due - now
    if remaining <= dt.timedelta(0):
        state = SlaState.BREACHED
    elif (now - application.stage_entered_at) * AT_RISK_SHARE.denominator >= (
        due - application.stage_entered_at
    ) * AT_RISK_SHARE.numerator:
        state = SlaState.AT_RISK
    else:
        state = SlaState.ON_TIME
    likely = state != SlaState.BREACHED and bool(getattr(application, "likely_to_breach", False))
    return Sla(state=state, due_at=due, remaining=remaining, likely_to_breach=likely)


# --- Questions ------------------------------------------------------------------------------------


def thread_messages(*, thread: QuestionThread) -> list[ThreadMessage]:
    """Every message of a thread for staff, internal notes included, with their authors (1 query)."""
    return list(thread.messages.select_related("author").order_by("created_at", "pk"))
