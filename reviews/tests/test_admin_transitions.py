"""Transition buttons in the back office: exactly those the user may take now, each posted to the
named service, refused on the server when the user may not take it, never a 500."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.roles import Role
from applications import services as core
from applications.choices import Stage
from applications.models import DocumentRequest, DocumentType, LoanApplication, Reason, StageEvent

pytestmark = pytest.mark.django_db

ROLES = ("customer", "dealer", "reviewer", "approver", "operations", "finance", "manager")

# transition: (the stage it leaves, the roles that may take it)
MATRIX = {
    "request_documents": (Stage.UNDER_REVIEW, {"reviewer"}),
    "recommend_approval": (Stage.UNDER_REVIEW, {"reviewer"}),
    "reject_in_review": (Stage.UNDER_REVIEW, {"reviewer"}),
    "resume_review": (Stage.AWAITING_DOCUMENTS, {"reviewer"}),
    "return_to_review": (Stage.APPROVAL, {"approver"}),
    "approve": (Stage.APPROVAL, {"approver"}),
    "decline": (Stage.APPROVAL, {"approver"}),
    "sign_contract": (Stage.CONTRACT_SIGNING, {"operations"}),
    "register_lien": (Stage.LIEN_REGISTRATION, {"operations"}),
    "disburse": (Stage.DISBURSEMENT, {"finance"}),
}
# Roles whose queue shows each stage (others get a 404 for it); managers see every stage.
SEES = {
    Stage.UNDER_REVIEW: {"reviewer", "manager"},
    Stage.AWAITING_DOCUMENTS: {"reviewer", "manager"},
    Stage.APPROVAL: {"approver", "manager"},
    Stage.CONTRACT_SIGNING: {"operations", "manager"},
    Stage.LIEN_REGISTRATION: {"operations", "manager"},
    Stage.DISBURSEMENT: {"finance", "manager"},
}


def transition_url(application: LoanApplication, name: str) -> str:
    return reverse("admin:applications_loanapplication_transition", args=[application.pk, name])


def page_url(application: LoanApplication) -> str:
    return reverse("admin:applications_loanapplication_change", args=[application.pk])


def form_data(name: str, application: LoanApplication, **overrides) -> dict:
    data = {"seen_stage": application.stage, "note": "Checked against the bureau report."}
    if name in ("reject_in_review", "decline"):
        data["reason"] = Reason.objects.get(code="credit_history").pk
    if name == "request_documents":
        data["reason"] = Reason.objects.get(code="more_income_proof").pk
        data["document_types"] = [DocumentType.objects.get(code="bank_statement").pk]
    if name == "approve":
        data.update({"amount": "120000.00", "rate_percent": "5.20", "term_months": "36"})
    data.update(overrides)
    return {f"{name}-{key}": value for key, value in data.items()}


def state(application: LoanApplication) -> tuple:
    application = LoanApplication.objects.get(pk=application.pk)
    return (
        application.stage,
        application.event_count,
        StageEvent.objects.filter(application=application).count(),
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", MATRIX)
def test_permission_matrix_for_every_admin_transition(client, pipeline, cast, finance, name, role):
    source, allowed = MATRIX[name]
    application = pipeline.new(source)
    before = state(application)
    client.force_login(cast[role])

    response = client.post(transition_url(application, name), form_data(name, application))

    if role in allowed:
        assert response.status_code == 302, response.content.decode()[:2000]
        after = LoanApplication.objects.get(pk=application.pk)
        assert after.stage != source
        event = StageEvent.objects.filter(application=application, transition=name).get()
        assert event.actor == cast[role] and event.note == "Checked against the bureau report."
        return
    # Refused: nothing changed, and the answer says so without a 500.
    assert state(application) == before
    if role in ("customer", "dealer"):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    elif role in SEES[source]:
        assert response.status_code == 403
        assert "not allowed" in response.content.decode()
    else:
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("stage", "role", "buttons"),
    [
        (Stage.UNDER_REVIEW, "reviewer", ["recommend_approval", "request_documents", "reject_in_review"]),
        (Stage.AWAITING_DOCUMENTS, "reviewer", ["resume_review"]),
        (Stage.APPROVAL, "approver", ["approve", "return_to_review", "decline"]),
        (Stage.CONTRACT_SIGNING, "operations", ["sign_contract"]),
        (Stage.LIEN_REGISTRATION, "operations", ["register_lien"]),
        (Stage.DISBURSEMENT, "finance", ["disburse"]),
        (Stage.UNDER_REVIEW, "manager", []),
        (Stage.APPROVAL, "manager", []),
    ],
)
def test_the_page_offers_exactly_the_transitions_the_user_may_take(
    client, pipeline, cast, finance, stage, role, buttons
):
    application = pipeline.new(stage)
    client.force_login(cast[role])

    page = client.get(page_url(application)).content.decode()

    assert re.findall(r'class="lp-transition-form" data-transition="(\w+)"', page) == buttons
    if not buttons:
        assert "No action is yours to take at this stage." in page


def test_the_reviewer_cannot_approve_their_own_file_even_with_the_approver_role(client, pipeline, make_user):
    both = make_user("reviewer_and_approver", Role.REVIEWER, Role.APPROVER)
    application = core.review_recommend(application=pipeline.held_by(both), actor=both)
    before = state(application)
    client.force_login(both)

    page = client.get(page_url(application)).content.decode()
    forged = client.post(transition_url(application, "approve"), form_data("approve", application))

    assert page.count('class="lp-transition-form"') == 0  # no approve, return or decline button
    assert forged.status_code == 403
    assert "You are not allowed to take this action on this application." in forged.content.decode()
    assert state(application) == before
    assert LoanApplication.objects.get(pk=application.pk).approved_by is None


def test_finance_cannot_release_money_they_approved(client, pipeline, make_user):
    approver_and_finance = make_user("approver_and_finance", Role.APPROVER, Role.FINANCE)
    pipeline.approver = approver_and_finance
    application = pipeline.new(Stage.DISBURSEMENT)
    before = state(application)
    client.force_login(approver_and_finance)

    page = client.get(page_url(application)).content.decode()
    forged = client.post(transition_url(application, "disburse"), form_data("disburse", application))

    assert 'data-transition="disburse"' not in page
    assert forged.status_code == 403
    assert state(application) == before


def test_a_transition_someone_else_made_meanwhile_gets_a_clear_message(client, pipeline, approver, make_user):
    colleague = make_user("approver_two", Role.APPROVER)
    application = pipeline.new(Stage.APPROVAL)
    client.force_login(approver)
    page = client.get(page_url(application)).content.decode()
    seen = re.search(r'name="approve-seen_stage" value="(\w+)"', page).group(1)
    core.approval_return(  # meanwhile, having claimed it
        application=pipeline.hold(application, colleague), actor=colleague, note="needs another look"
    )

    response = client.post(
        transition_url(application, "approve"),
        form_data("approve", application, seen_stage=seen),
        follow=True,
    )

    assert response.status_code == 200
    [message] = messages_of(response)
    assert "has moved on to" in message and "Reload" in message
    assert LoanApplication.objects.get(pk=application.pk).stage == Stage.UNDER_REVIEW
    assert not StageEvent.objects.filter(application=application, transition="approve").exists()


def test_a_change_between_the_check_and_the_lock_is_caught_by_the_service(
    client, pipeline, approver, monkeypatch
):
    """The view's own check passed; someone moved the file before the service took its lock."""
    application = pipeline.new(Stage.APPROVAL)
    client.force_login(approver)
    from reviews import transitions

    real = transitions.STAFF_TRANSITIONS["decline"]

    def racing_service(*, application, **kwargs):
        core.approval_return(application=LoanApplication.objects.get(pk=application.pk), actor=approver)
        return real.service(application=application, **kwargs)

    monkeypatch.setitem(
        transitions.STAFF_TRANSITIONS,
        "decline",
        dataclasses.replace(real, service=racing_service),
    )
    response = client.post(
        transition_url(application, "decline"), form_data("decline", application), follow=True
    )

    assert response.status_code == 200
    assert any("has moved on to" in m for m in messages_of(response))
    assert LoanApplication.objects.get(pk=application.pk).stage == Stage.UNDER_REVIEW


def test_approval_outside_the_products_limits_is_shown_next_to_the_fields(client, pipeline, approver):
    application = pipeline.new(Stage.APPROVAL)  # requested ¥140,000.00; standard rate 4.50-8.99 %
    before = state(application)
    client.force_login(approver)

    response = client.post(
        transition_url(application, "approve"),
        form_data("approve", application, amount="150000.00", rate_percent="12.00"),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The rate must be between 4.50 % and 8.99 %." in page
    assert state(application) == before
    response = client.post(
        transition_url(application, "approve"), form_data("approve", application, amount="150000.00")
    )
    assert "The amount must be between" in response.content.decode()  # the service's check
    assert state(application) == before


def test_reject_and_request_documents_need_a_catalogue_reason(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    before = state(application)
    client.force_login(reviewer)

    reject = client.post(
        transition_url(application, "reject_in_review"), form_data("reject_in_review", application, reason="")
    )
    request = client.post(
        transition_url(application, "request_documents"),
        form_data("request_documents", application, document_types=[]),
    )

    assert reject.status_code == 200 and "errorlist" in reject.content.decode()
    assert "Choose at least one document to request." in request.content.decode()
    assert state(application) == before


def test_a_rejection_reason_of_the_wrong_kind_is_refused(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    response = client.post(
        transition_url(application, "reject_in_review"),
        form_data("reject_in_review", application, reason=Reason.objects.get(code="photo_unreadable").pk),
    )

    assert response.status_code == 200  # not in the form's choices
    assert LoanApplication.objects.get(pk=application.pk).stage == Stage.UNDER_REVIEW


def test_requesting_documents_goes_through_the_service_and_the_customer_is_asked(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    response = client.post(
        transition_url(application, "request_documents"), form_data("request_documents", application)
    )

    assert response.status_code == 302
    assert response["Location"] == page_url(application)  # reviewers keep files awaiting documents
    application.refresh_from_db()
    assert application.stage == Stage.AWAITING_DOCUMENTS
    request = DocumentRequest.objects.get(application=application)
    assert (request.document_type.code, request.reason.code, request.requested_by) == (
        "bank_statement",
        "more_income_proof",
        reviewer,
    )


def test_after_a_transition_out_of_the_users_stages_they_land_on_their_queue(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    response = client.post(
        transition_url(application, "recommend_approval"),
        form_data("recommend_approval", application),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("admin:applications_loanapplication_changelist")
    assert any("Recommend approval: done" in m for m in messages_of(response))


def test_the_transition_page_shows_the_form_on_its_own(client, pipeline, approver):
    application = pipeline.new(Stage.APPROVAL)
    client.force_login(approver)

    page = client.get(transition_url(application, "approve")).content.decode()

    assert 'name="approve-amount"' in page and 'value="140000.00"' in page
    assert "From ¥20,000.00 to ¥140,000.00." in page


def test_an_unknown_transition_is_not_found(client, pipeline, approver):
    application = pipeline.new(Stage.APPROVAL)
    client.force_login(approver)

    for name in ("accept_offer", "withdraw", "expire", "nonsense"):
        response = client.post(transition_url(application, name), {f"{name}-seen_stage": Stage.APPROVAL})
        assert response.status_code == 404
    assert LoanApplication.objects.get(pk=application.pk).stage == Stage.APPROVAL
