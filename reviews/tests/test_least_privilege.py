"""Least privilege for staff: a file's history, page and documents only for staff who work its
stage or hold it, managers every file; each document opened is logged; the rest answer 404 and are
absent from lists and searches."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import Role
from applications.choices import Stage
from applications.models import Document, LoanApplication, StageEvent
from reviews import services
from reviews.choices import AccessKind
from reviews.models import AssignmentRule, PiiAccessLog

pytestmark = pytest.mark.django_db

HISTORY = reverse("admin:applications_stageevent_changelist")

# Which stages each role works, written out here (not read from the code under test).
WORKS = {
    "reviewer": {Stage.UNDER_REVIEW, Stage.AWAITING_DOCUMENTS},
    "approver": {Stage.APPROVAL},
    "operations": {Stage.CONTRACT_SIGNING, Stage.LIEN_REGISTRATION},
    "finance": {Stage.DISBURSEMENT},
    "manager": set(Stage.values),
}
STAGES = [
    Stage.UNDER_REVIEW,
    Stage.AWAITING_DOCUMENTS,
    Stage.APPROVAL,
    Stage.OFFER_PENDING,  # the customer's turn: no staff role works it, managers see it
    Stage.CONTRACT_SIGNING,
    Stage.LIEN_REGISTRATION,
    Stage.DISBURSEMENT,
]


def page_url(application) -> str:
    return reverse("admin:applications_loanapplication_change", args=[application.pk])


def event_url(event) -> str:
    return reverse("admin:applications_stageevent_change", args=[event.pk])


def document_url(document) -> str:
    return reverse(
        "admin:applications_loanapplication_document_file", args=[document.application_id, document.public_id]
    )


def what_user_sees(client, user, application: LoanApplication) -> dict[str, int | bool]:
    """Every way to a file's contents, as ``user``: status codes, and whether the history's list
    (searched by the file's reference) names any of its events."""
    client.force_login(user)
    event = StageEvent.objects.filter(application=application).earliest("sequence")
    document = Document.objects.filter(application=application).earliest("uploaded_at")
    listed = client.get(HISTORY, {"q": application.display_reference}).content.decode()
    return {
        "page": client.get(page_url(application)).status_code,
        "event": client.get(event_url(event)).status_code,
        "listed": event_url(event) in listed,
        "document": client.get(document_url(document)).status_code,
    }


SEEN = {"page": 200, "event": 200, "listed": True, "document": 200}
UNSEEN = {"page": 404, "event": 404, "listed": False, "document": 404}


@pytest.mark.parametrize("assigned", [True, False], ids=["assigned", "unassigned"])
@pytest.mark.parametrize("stage", STAGES)
def test_each_role_sees_history_and_documents_of_its_stages_only_and_managers_all(
    client, pipeline, cast, stage, assigned
):
    if not assigned:
        AssignmentRule.objects.update(is_active=False)  # nobody is given the file
    application = pipeline.new(stage)
    if not assigned:
        assert services.open_assignment(application=application) is None

    for role, stages in WORKS.items():
        user = cast[role]
        before = PiiAccessLog.objects.filter(user=user).count()

        seen = what_user_sees(client, user, application)

        expected = SEEN if stage in stages else UNSEEN
        assert seen == expected, (role, stage)
        logs = PiiAccessLog.objects.filter(user=user)
        assert logs.count() == before + (1 if stage in stages else 0), (role, stage)


def test_opening_a_document_logs_who_which_document_which_application_and_when(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    document = Document.objects.filter(application=application).earliest("uploaded_at")
    client.force_login(reviewer)

    response = client.get(document_url(document))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    log = PiiAccessLog.objects.get()
    assert (log.user, log.application, log.document, log.field) == (
        reviewer,
        application,
        document,
        AccessKind.DOCUMENT,
    )
    assert log.viewed_at is not None


def test_a_document_of_another_application_is_not_found_under_this_one(client, pipeline, reviewer):
    mine, other = pipeline.new(Stage.UNDER_REVIEW), pipeline.new(Stage.UNDER_REVIEW)
    document = Document.objects.filter(application=other).first()
    client.force_login(reviewer)

    url = reverse("admin:applications_loanapplication_document_file", args=[mine.pk, document.public_id])
    assert client.get(url).status_code == 404
    assert not PiiAccessLog.objects.exists()


def test_a_file_assigned_to_someone_stays_theirs_to_see_after_they_leave_its_role(
    client, pipeline, manager, make_user
):
    """Assigned in approval, then moved to the reviewers only: they still see the file they hold,
    not another approval file."""
    held, other = pipeline.new(Stage.APPROVAL), pipeline.new(Stage.APPROVAL)  # both to `approver`
    switcher = make_user("switcher", Role.REVIEWER, Role.APPROVER)
    services.assignment_reassign(application=held, assignee=switcher, actor=manager)
    switcher.groups.remove(Group.objects.get(name=Role.APPROVER))

    assert what_user_sees(client, switcher, held) == SEEN
    assert what_user_sees(client, switcher, other) == UNSEEN


def test_the_history_list_shows_only_events_of_files_in_scope(client, pipeline, reviewer, approver):
    in_review, in_approval = pipeline.new(Stage.UNDER_REVIEW), pipeline.new(Stage.APPROVAL)
    client.force_login(approver)

    page = client.get(HISTORY).content.decode()

    assert in_approval.display_reference in page
    assert in_review.display_reference not in page
    # The count is of the scope too: no number that includes the other file's events.
    listed = StageEvent.objects.filter(application=in_approval).count()
    assert f"{listed} history" in page


def test_staff_without_a_back_office_role_see_no_history(client, pipeline, make_user):
    application = pipeline.new(Stage.UNDER_REVIEW)
    stray = make_user("stray", is_staff=True)  # staff flag, no role
    stray.user_permissions.add(*Group.objects.get(name=Role.REVIEWER).permissions.all())

    client.force_login(stray)
    page = client.get(HISTORY).content.decode()

    assert application.display_reference not in page


def test_managers_read_the_document_log_and_reviewers_cannot(client, pipeline, reviewer, manager):
    application = pipeline.new(Stage.UNDER_REVIEW)
    document = Document.objects.filter(application=application).earliest("uploaded_at")
    client.force_login(reviewer)
    client.get(document_url(document))
    log_url = reverse("admin:reviews_piiaccesslog_changelist")

    assert client.get(log_url).status_code == 403
    client.force_login(manager)
    page = client.get(log_url, {"field": AccessKind.DOCUMENT}).content.decode()

    assert "document opened" in page
    assert str(document.document_type) in page
    assert "reviewer" in page
