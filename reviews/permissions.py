"""Which files a member of staff may see: the one scope rule of the back office.

Staff see a file's page, its history and its documents when the file is in a stage one of their
roles works (``choices.ROLE_STAGES``: the stage's role, as the queue shows it) or when it is
assigned to them; managers and superusers see every file. Everyone else (customers, dealers, staff
without a back-office role) sees none here: customers reach their own files on the customer site.

Everything that shows a file's contents to staff asks here: the application page and its inlines
(``admin/application_page.py``), the history admin (``admin/history.py``), the document view
(``admin/documents.py``). A file out of scope is absent from lists and answers 404, the same as a
file that does not exist, so neither a count nor a search says that it does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from applications.models import LoanApplication, QuestionThread, StageEvent

from .models import Assignment
from .selectors import is_back_office, sees_every_stage, visible_stages

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def sees_every_file(user: User | AnonymousUser) -> bool:
    """Managers and superusers: every file, whatever its stage or assignee."""
    return is_back_office(user) and sees_every_stage(user)


def _scope(user: User | AnonymousUser, *, application: str) -> Q | None:
    """The condition on an application (``application``: the path to it, "" for the model itself)
    that puts it in the user's scope; None for every file."""
    if sees_every_file(user):
        return None
    if not is_back_office(user):
        return Q(pk__in=[])
    prefix = f"{application}__" if application else ""
    pk = f"{application}_id" if application else "pk"
    assigned = Exists(
        Assignment.objects.filter(application_id=OuterRef(pk), assignee_id=user.pk, released_at__isnull=True)
    )
    return Q(**{f"{prefix}stage__in": sorted(visible_stages(user))}) | Q(assigned)


def files_in_scope(
    *, user: User | AnonymousUser, queryset: QuerySet[LoanApplication] | None = None
) -> QuerySet[LoanApplication]:
    """The applications (of ``queryset``, default all) this user may see."""
    queryset = LoanApplication.objects.all() if queryset is None else queryset
    condition = _scope(user, application="")
    return queryset if condition is None else queryset.filter(condition)


def events_in_scope(
    *, user: User | AnonymousUser, queryset: QuerySet[StageEvent] | None = None
) -> QuerySet[StageEvent]:
    """The history events (of ``queryset``, default all) of the applications this user may see."""
    queryset = StageEvent.objects.all() if queryset is None else queryset
    condition = _scope(user, application="application")
    return queryset if condition is None else queryset.filter(condition)


def threads_in_scope(*, user: User | AnonymousUser) -> QuerySet[QuestionThread]:
    """The question threads of the applications this user may see, with the application joined."""
    queryset = QuestionThread.objects.select_related("application")
    condition = _scope(user, application="application")
    return queryset if condition is None else queryset.filter(condition)


def may_see_file(*, user: User | AnonymousUser, application_id: int, stage: str) -> bool:
    """One application, by its id and current stage: in scope? (No query for managers or a file
    in the user's stages; one for the assignment otherwise.)"""
    if sees_every_file(user):
        return True
    if not is_back_office(user):
        return False
    if stage in visible_stages(user):
        return True
    return Assignment.objects.filter(
        application_id=application_id, assignee_id=user.pk, released_at__isnull=True
    ).exists()
