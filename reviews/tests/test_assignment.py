"""Automatic assignment, "assign to me" and reassignment: least loaded, longest idle, four-eyes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from accounts.roles import Role
from applications import services as core
from applications.choices import EventKind, Stage
from applications.models import Dealer, LoanApplication, Reason, StageEvent
from reviews import services
from reviews.models import AssignmentRule

pytestmark = pytest.mark.django_db

LARGE = {
    "vehicle_price": Decimal("600000.00"),
    "down_payment": Decimal("200000.00"),
    "requested_amount": Decimal("400000.00"),
}


def assignee_of(application: LoanApplication):
    assignment = services.open_assignment(application=application)
    return assignment.assignee if assignment else None


def assignment_events(application: LoanApplication) -> list[StageEvent]:
    return list(
        StageEvent.objects.filter(application=application, kind=EventKind.ASSIGNMENT).order_by("sequence")
    )


def reject(application: LoanApplication, reviewer) -> LoanApplication:
    return core.review_reject(
        application=application, actor=reviewer, reason=Reason.objects.get(code="credit_history")
    )


# --- Automatic assignment -----------------------------------------------------------------------


def test_entering_review_assigns_the_reviewer_and_records_an_assignment_event(pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)

    assert assignee_of(application) == reviewer
    [event] = assignment_events(application)
    assert event.data["action"] == "automatic"
    assert event.data["assignee"] == reviewer.pk
    assert event.data["stage"] == Stage.UNDER_REVIEW
    assert event.actor is None  # the rules did it


def test_assignment_picks_the_reviewer_with_the_fewest_open_assignments(pipeline, reviewer, make_user):
    pipeline.new(Stage.UNDER_REVIEW)
    pipeline.new(Stage.UNDER_REVIEW)  # both to `reviewer`, the only one so far
    newcomer = make_user("reviewer_two", Role.REVIEWER)

    assert assignee_of(pipeline.new(Stage.UNDER_REVIEW)) == newcomer


def test_a_tie_on_open_work_goes_to_whoever_has_been_idle_longest(pipeline, reviewer, make_user):
    second = make_user("reviewer_two", Role.REVIEWER)
    first_file = pipeline.new(Stage.UNDER_REVIEW)  # tie at none: never assigned, lowest id
    pipeline.new(Stage.UNDER_REVIEW)  # to `second`
    reject(first_file, reviewer)  # `reviewer` is free again
    pipeline.new(Stage.UNDER_REVIEW)  # least loaded: `reviewer`
    # Now one open file each; `second` was last given one before `reviewer` was.

    assert assignee_of(pipeline.new(Stage.UNDER_REVIEW)) == second


def test_someone_never_assigned_counts_as_idle_longest(pipeline, reviewer, make_user):
    reject(pipeline.new(Stage.UNDER_REVIEW), reviewer)  # `reviewer` has worked, and has nothing open
    fresh = make_user("reviewer_two", Role.REVIEWER)

    assert assignee_of(pipeline.new(Stage.UNDER_REVIEW)) == fresh


def test_inactive_staff_and_staff_of_other_roles_are_never_picked(pipeline, reviewer, approver):
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])

    application = pipeline.new(Stage.UNDER_REVIEW)

    assert assignee_of(application) is None
    assert assignment_events(application) == []


def test_leaving_a_staff_stage_releases_the_assignment_and_says_so(pipeline, reviewer):
    application = reject(pipeline.new(Stage.UNDER_REVIEW), reviewer)

    assert assignee_of(application) is None
    released = assignment_events(application)[-1]
    assert released.data == {
        "action": "released",
        "stage": Stage.UNDER_REVIEW,
        "assignee": None,
        "previous": reviewer.pk,
    }


def test_the_next_stage_owner_takes_over_in_one_event(pipeline, reviewer, approver):
    application = pipeline.new(Stage.APPROVAL)

    assert assignee_of(application) == approver
    handover = assignment_events(application)[-1]
    assert handover.data["previous"] == reviewer.pk
    assert handover.data["assignee"] == approver.pk
    assert application.assignments.filter(released_at__isnull=True).count() == 1


def test_events_other_than_stage_changes_leave_the_assignment_alone(pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    before = assignment_events(application)

    core.application_event_add(application=application, kind=EventKind.NOTE, actor=reviewer, note="called")

    assert assignment_events(application) == before
    assert assignee_of(application) == reviewer


def test_the_transition_hands_back_an_application_whose_history_head_is_current(pipeline):
    application = pipeline.new(Stage.UNDER_REVIEW)  # the last service call also assigned

    stored = LoanApplication.objects.get(pk=application.pk)
    assert (application.event_count, application.history_head) == (stored.event_count, stored.history_head)


# --- Large loans go to senior approvers ---------------------------------------------------------


def test_a_large_loan_goes_to_a_senior_approver_even_when_an_approver_is_free(pipeline, approver, make_user):
    senior = make_user("senior", Role.SENIOR_APPROVER)

    application = pipeline.new(Stage.APPROVAL, **LARGE)

    assert assignee_of(application) == senior


def test_a_large_loan_waits_unassigned_rather_than_go_to_an_ordinary_approver(pipeline, approver):
    application = pipeline.new(Stage.APPROVAL, **LARGE)

    assert assignee_of(application) is None
    with pytest.raises(services.AssignmentRefused):
        services.assignment_claim(application=application, actor=approver)


def test_senior_approvers_cover_standard_approvals_when_no_approver_is_eligible(
    pipeline, approver, make_user
):
    senior = make_user("senior", Role.SENIOR_APPROVER)
    approver.is_active = False
    approver.save(update_fields=["is_active"])

    assert assignee_of(pipeline.new(Stage.APPROVAL)) == senior


def test_the_senior_threshold_is_data_on_the_rules(pipeline, approver, make_user):
    make_user("senior", Role.SENIOR_APPROVER)
    AssignmentRule.objects.filter(role=Role.APPROVER).update(max_amount=Decimal("500000.00"))
    AssignmentRule.objects.filter(role=Role.SENIOR_APPROVER, min_amount__isnull=False).update(
        min_amount=Decimal("500000.00")
    )

    assert assignee_of(pipeline.new(Stage.APPROVAL, **LARGE)) == approver


def test_a_rule_matches_by_amount_range_and_dealer_region(customer):
    rule = AssignmentRule(
        name="Shanghai large",
        role=Role.SENIOR_APPROVER,
        stages=[Stage.APPROVAL],
        min_amount=Decimal("300000.00"),
        max_amount=Decimal("800000.00"),
        dealer_region="Shanghai",
    )
    shanghai = Dealer.objects.create(code="sh", name="SH Motors", region="Shanghai")
    beijing = Dealer.objects.create(code="bj", name="BJ Motors", region="Beijing")

    def application(amount: str, dealer: Dealer) -> LoanApplication:
        return LoanApplication(requested_amount=Decimal(amount), dealer=dealer, created_by=customer)

    assert rule.matches(application("300000.01", shanghai), stage=Stage.APPROVAL)
    assert rule.matches(application("800000.00", shanghai), stage=Stage.APPROVAL)
    assert not rule.matches(application("300000.00", shanghai), stage=Stage.APPROVAL)  # "more than"
    assert not rule.matches(application("800000.01", shanghai), stage=Stage.APPROVAL)
    assert not rule.matches(application("400000.00", beijing), stage=Stage.APPROVAL)
    assert not rule.matches(application("400000.00", shanghai), stage=Stage.UNDER_REVIEW)


# --- Four-eyes ----------------------------------------------------------------------------------


def test_the_reviewer_is_never_assigned_the_approval_of_their_own_recommendation(
    pipeline, approver, make_user
):
    both = make_user("reviewer_and_approver", Role.REVIEWER, Role.APPROVER)
    for _ in range(2):
        pipeline.new(Stage.APPROVAL)  # `approver` is busier than `both`
    application = pipeline.held_by(both)

    application = core.review_recommend(application=application, actor=both)

    assert assignee_of(application) == approver


def test_with_nobody_else_to_approve_the_file_waits_and_the_reviewer_cannot_take_it(
    pipeline, approver, make_user
):
    both = make_user("reviewer_and_approver", Role.REVIEWER, Role.APPROVER)
    approver.is_active = False
    approver.save(update_fields=["is_active"])

    application = core.review_recommend(application=pipeline.held_by(both), actor=both)

    assert assignee_of(application) is None
    with pytest.raises(services.AssignmentRefused, match="someone else must approve"):
        services.assignment_claim(application=application, actor=both)


def test_the_approver_is_never_assigned_the_disbursement_of_their_own_approval(pipeline, make_user, manager):
    approver_and_finance = make_user("approver_and_finance", Role.APPROVER, Role.FINANCE)
    pipeline.approver = approver_and_finance

    application = pipeline.new(Stage.DISBURSEMENT)

    assert assignee_of(application) is None  # the only finance person approved it
    with pytest.raises(services.AssignmentRefused, match="someone else must release the money"):
        services.assignment_reassign(application=application, assignee=approver_and_finance, actor=manager)


# --- "Assign to me" and reassignment ------------------------------------------------------------


def test_a_reviewer_claims_an_unassigned_file_in_their_stage(pipeline, reviewer):
    AssignmentRule.objects.update(is_active=False)
    application = pipeline.new(Stage.UNDER_REVIEW)
    AssignmentRule.objects.update(is_active=True)

    services.assignment_claim(application=application, actor=reviewer)

    assert assignee_of(application) == reviewer
    event = assignment_events(application)[-1]
    assert event.data["action"] == "claimed" and event.actor == reviewer


def test_claiming_a_file_someone_else_holds_takes_it_and_the_history_names_them(
    pipeline, reviewer, make_user
):
    other = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.UNDER_REVIEW)  # to `reviewer`

    services.assignment_claim(application=application, actor=other)

    assert assignee_of(application) == other
    event = assignment_events(application)[-1]
    assert event.actor == other
    assert event.data["action"] == "claimed"
    assert (event.data["previous"], event.data["previous_name"]) == (reviewer.pk, "reviewer")


def test_staff_of_another_stage_cannot_claim(pipeline, operations):
    application = pipeline.new(Stage.UNDER_REVIEW)

    with pytest.raises(services.AssignmentRefused, match="role does not work"):
        services.assignment_claim(application=application, actor=operations)


def test_a_manager_reassigns_and_the_history_says_who_did_it(pipeline, reviewer, manager, make_user):
    other = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.UNDER_REVIEW)

    services.assignment_reassign(application=application, assignee=other, actor=manager)

    assert assignee_of(application) == other
    event = assignment_events(application)[-1]
    assert event.actor == manager
    assert event.data["action"] == "reassigned"
    assert (event.data["previous"], event.data["assignee"]) == (reviewer.pk, other.pk)
    assert application.assignments.filter(released_at__isnull=True).count() == 1


def test_only_managers_reassign(pipeline, reviewer, make_user):
    other = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.UNDER_REVIEW)

    with pytest.raises(PermissionDenied):
        services.assignment_reassign(application=application, assignee=other, actor=reviewer)
    assert assignee_of(application) == reviewer


def test_a_manager_cannot_reassign_an_approval_to_its_reviewer(pipeline, reviewer, manager, make_user):
    both = make_user("reviewer_and_approver", Role.REVIEWER, Role.APPROVER)
    application = core.review_recommend(application=pipeline.held_by(both), actor=both)

    with pytest.raises(services.AssignmentRefused, match="reviewer_and_approver recommended"):
        services.assignment_reassign(application=application, assignee=both, actor=manager)
