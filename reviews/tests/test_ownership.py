"""Who works a file: it comes back from the customer's documents to the reviewer who asked for them,
and staff act only on files they hold (or nobody holds) — taking a colleague's file is a claim the
history shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from applications import services as core
from applications.choices import EventKind, Stage
from applications.models import DocumentType, LoanApplication, Reason, StageEvent
from reviews import services
from reviews.models import AssignmentRule

from .builders import upload

pytestmark = pytest.mark.django_db


def assignee_of(application: LoanApplication):
    assignment = services.open_assignment(application=application)
    return assignment.assignee if assignment else None


def last_assignment_event(application: LoanApplication) -> StageEvent:
    return StageEvent.objects.filter(application=application, kind=EventKind.ASSIGNMENT).latest("sequence")


def ask_for_bank_statement(application: LoanApplication, reviewer) -> LoanApplication:
    return core.review_request_documents(
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )


def customer_sends_it(application: LoanApplication, customer) -> LoanApplication:
    """The last document owed: review resumes by itself (``documents._resume_review_when_complete``)."""
    upload(application, "bank_statement", customer)
    application = LoanApplication.objects.get(pk=application.pk)
    assert application.stage == Stage.UNDER_REVIEW
    return application


# --- Back from the customer's documents ---------------------------------------------------------


def test_documents_back_go_to_the_reviewer_who_asked_not_the_least_loaded(
    pipeline, customer, reviewer, make_user
):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`, the only reviewer so far
    idle = make_user("reviewer_two", Role.REVIEWER)  # never assigned: the least-loaded rule's pick
    application = ask_for_bank_statement(application, reviewer)

    application = customer_sends_it(application, customer)

    assert assignee_of(application) == reviewer != idle
    event = last_assignment_event(application)
    assert event.data["action"] == "returned" and event.data["assignee"] == reviewer.pk


def test_documents_back_go_to_the_least_loaded_when_the_asker_has_left(
    pipeline, customer, reviewer, make_user
):
    application = ask_for_bank_statement(pipeline.new(Stage.UNDER_REVIEW), reviewer)
    colleague = make_user("reviewer_two", Role.REVIEWER)
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])

    application = customer_sends_it(application, customer)

    assert assignee_of(application) == colleague
    assert last_assignment_event(application).data["action"] == "automatic"


def test_documents_back_go_to_the_least_loaded_when_the_asker_no_longer_reviews(
    pipeline, customer, reviewer, make_user
):
    application = ask_for_bank_statement(pipeline.new(Stage.UNDER_REVIEW), reviewer)
    colleague = make_user("reviewer_two", Role.REVIEWER)
    reviewer.groups.clear()  # moved to another team

    application = customer_sends_it(application, customer)

    assert assignee_of(application) == colleague


def test_documents_the_pre_check_asked_for_go_to_the_least_loaded(pipeline, customer, reviewer, make_user):
    pipeline.new(Stage.UNDER_REVIEW)  # `reviewer` has one open file
    colleague = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.AWAITING_DOCUMENTS)  # the pre-check asked: nobody to return to
    core.review_resume(application=application, actor=customer)

    assert assignee_of(application) == colleague


# --- Acting on a file a colleague holds ---------------------------------------------------------


def test_a_reviewer_acting_on_a_colleagues_file_is_refused_with_a_clear_message(
    pipeline, reviewer, make_user
):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    colleague = make_user("reviewer_two", Role.REVIEWER)

    with pytest.raises(core.NotAssignedToYou) as refused:
        core.review_recommend(application=application, actor=colleague)

    assert (
        str(refused.value)
        == "This application is assigned to reviewer: claim it first (“Assign to me”), then act."
    )
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW and application.reviewed_by is None
    assert assignee_of(application) == reviewer


def test_after_claiming_the_colleague_may_act_and_the_history_shows_the_hand_over(
    pipeline, reviewer, make_user
):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    colleague = make_user("reviewer_two", Role.REVIEWER)

    services.assignment_claim(application=application, actor=colleague)
    application = core.review_recommend(application=application, actor=colleague)

    assert application.stage == Stage.APPROVAL and application.reviewed_by == colleague
    claim = StageEvent.objects.get(application=application, kind=EventKind.ASSIGNMENT, data__action="claimed")
    assert (claim.actor, claim.data["previous_name"]) == (colleague, "reviewer")


def test_anyone_permitted_acts_on_a_file_nobody_holds(pipeline, reviewer, make_user):
    AssignmentRule.objects.update(is_active=False)  # no rule: the file waits, unassigned
    application = pipeline.new(Stage.UNDER_REVIEW)
    colleague = make_user("reviewer_two", Role.REVIEWER)
    assert assignee_of(application) is None

    application = core.review_recommend(application=application, actor=colleague)

    assert application.reviewed_by == colleague


def test_a_manager_who_reviews_may_act_on_anyones_file(pipeline, reviewer, make_user):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    lead = make_user("team_lead", Role.REVIEWER, Role.MANAGER)

    application = core.review_recommend(application=application, actor=lead)

    assert application.reviewed_by == lead


def test_without_an_owner_selector_the_permission_alone_decides(pipeline, reviewer, make_user, settings):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    colleague = make_user("reviewer_two", Role.REVIEWER)
    settings.LOANPORTAL_OWNER_SELECTOR = ""  # a portal without a back office's assignments

    application = core.review_recommend(application=application, actor=colleague)

    assert application.reviewed_by == colleague


def test_the_customer_answers_whoever_holds_the_file(pipeline, customer):
    application = pipeline.new(Stage.UNDER_REVIEW)  # held by `reviewer`

    application = core.application_withdraw(application=application, actor=customer)

    assert application.stage == Stage.WITHDRAWN


def test_on_the_page_the_refusal_says_whose_file_it_is_and_offers_the_claim(
    client, pipeline, reviewer, make_user
):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    colleague = make_user("reviewer_two", Role.REVIEWER)
    client.force_login(colleague)
    url = reverse(
        "admin:applications_loanapplication_transition", args=[application.pk, "recommend_approval"]
    )

    response = client.post(
        url, {"recommend_approval-seen_stage": Stage.UNDER_REVIEW, "recommend_approval-note": ""}, follow=True
    )

    page = response.content.decode()
    assert "This application is assigned to reviewer: claim it first" in page
    assert reverse("admin:applications_loanapplication_claim", args=[application.pk]) in page
    assert LoanApplication.objects.get(pk=application.pk).stage == Stage.UNDER_REVIEW


# --- Documents and causes of delay: claim first, like a transition ---------------------------------


def test_a_colleague_may_not_judge_the_documents_of_a_file_they_do_not_hold(pipeline, reviewer, make_user):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    document = application.documents.first()
    colleague = make_user("reviewer_two", Role.REVIEWER)

    with pytest.raises(core.NotAssignedToYou):
        core.document_accept(document=document, actor=colleague)

    document.refresh_from_db()
    assert document.status == "pending" and document.reviewed_by is None
    services.assignment_claim(application=application, actor=colleague)
    assert core.document_accept(document=document, actor=colleague).status == "accepted"


def test_a_colleague_may_not_set_the_cause_of_delay_of_a_file_they_do_not_hold(pipeline, reviewer, make_user):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    colleague = make_user("reviewer_two", Role.REVIEWER)
    backlog = Reason.objects.get(code="high_volume")

    assert not core.may_set_delay_cause(application=application, user=colleague)
    with pytest.raises(core.NotAssignedToYou):
        core.delay_cause_set(application=application, reason=backlog, actor=colleague)

    assert LoanApplication.objects.get(pk=application.pk).delay_reason is None
    assert core.may_set_delay_cause(application=application, user=reviewer)
    assert (
        core.delay_cause_set(application=application, reason=backlog, actor=reviewer).delay_reason == backlog
    )


def test_on_the_page_a_colleagues_file_offers_no_verdict_or_cause_and_refuses_a_forged_one(
    client, pipeline, reviewer, make_user
):
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`
    document = application.documents.first()
    colleague = make_user("reviewer_two", Role.REVIEWER)
    client.force_login(colleague)

    page = client.get(reverse("admin:applications_loanapplication_change", args=[application.pk]))
    content = page.content.decode()
    assert page.status_code == 200  # in their stage: they may read it
    assert f'name="accept" value="{document.public_id}"' not in content
    assert reverse("admin:applications_loanapplication_delay", args=[application.pk]) not in content

    response = client.post(
        reverse("admin:applications_loanapplication_documents", args=[application.pk]),
        {"accept": str(document.public_id)},
        follow=True,
    )
    assert "This application is assigned to reviewer: claim it first" in response.content.decode()
    document.refresh_from_db()
    assert document.status == "pending"
