"""The application page: masked personal data with a logged "show in full", the documents inline
with open / accept / reject, the read-only history, "assign to me" and reassignment."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.roles import Role
from applications.choices import DocumentStatus, Stage
from applications.models import Document, Reason, StageEvent
from reviews import services
from reviews.models import AssignmentRule, PiiAccessLog

from .builders import upload

pytestmark = pytest.mark.django_db


def page_url(application) -> str:
    return reverse("admin:applications_loanapplication_change", args=[application.pk])


def pii_url(application) -> str:
    return reverse("admin:applications_loanapplication_pii", args=[application.pk])


def documents_url(application) -> str:
    return reverse("admin:applications_loanapplication_documents", args=[application.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Personal data ------------------------------------------------------------------------------


def test_the_page_masks_id_and_phone_and_offers_no_unmasking_without_the_permission(
    client, pipeline, reviewer
):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(page_url(application)).content.decode()

    assert application.applicant.masked_id_number in page
    assert application.applicant.id_number not in page
    assert "138****5678" in page and "13812345678" not in page
    assert "Show in full" not in page
    assert "¥25,000.00" in page  # income, which the review needs


def test_show_in_full_reveals_one_field_and_logs_who_when_which_application_and_field(
    client, pipeline, manager
):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(manager)

    page = client.get(page_url(application)).content.decode()
    assert page.count('form="lp-pii" name="field"') == 2  # ID number and phone
    assert PiiAccessLog.objects.count() == 0  # looking at the page reveals nothing

    response = client.post(pii_url(application), {"field": "id_number"})

    assert response.status_code == 200
    assert application.applicant.id_number in response.content.decode()
    assert "13812345678" not in response.content.decode()  # one field at a time
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    log = PiiAccessLog.objects.get()
    assert (log.user, log.application_id, log.field) == (manager, application.pk, "id_number")

    client.post(pii_url(application), {"field": "phone"})
    client.post(pii_url(application), {"field": "phone"})
    assert list(PiiAccessLog.objects.order_by("pk").values_list("field", flat=True)) == [
        "id_number",
        "phone",
        "phone",
    ]


def test_unmasking_without_the_permission_is_refused_and_not_logged(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    response = client.post(pii_url(application), {"field": "id_number"})

    assert response.status_code == 403
    assert application.applicant.id_number not in response.content.decode()
    assert not PiiAccessLog.objects.exists()


def test_unmasking_is_a_post_only_and_for_known_fields(client, pipeline, manager):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(manager)

    assert client.get(pii_url(application), {"field": "id_number"}).status_code == 405
    assert client.post(pii_url(application), {"field": "monthly_income"}).status_code == 404
    assert not PiiAccessLog.objects.exists()


def test_pii_of_an_application_outside_the_users_stages_is_not_found(client, pipeline, make_user):
    approver_with_pii = make_user("approver_pii", Role.APPROVER)
    from django.contrib.auth.models import Permission

    approver_with_pii.user_permissions.add(Permission.objects.get(codename="view_full_pii"))
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(approver_with_pii)

    assert client.post(pii_url(application), {"field": "id_number"}).status_code == 404
    assert not PiiAccessLog.objects.exists()


# --- Documents ----------------------------------------------------------------------------------


@pytest.fixture
def with_document(pipeline, customer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    upload(application, "id_card_front", customer)  # a second one, after the first was on file
    return application, Document.objects.filter(application=application).latest("uploaded_at")


def test_documents_inline_links_to_the_download_and_offers_accept_and_reject(client, with_document, reviewer):
    application, document = with_document
    client.force_login(reviewer)

    page = client.get(page_url(application)).content.decode()

    download = reverse(
        "admin:applications_loanapplication_document_file", args=[application.pk, document.public_id]
    )
    assert f'href="{download}"' in page
    assert f'name="accept" value="{document.public_id}"' in page
    assert f'name="reject" value="{document.public_id}"' in page
    assert client.get(download).status_code == 200  # staff may open it (logged: test_least_privilege)


def test_accepting_a_document(client, with_document, reviewer):
    application, document = with_document
    client.force_login(reviewer)

    response = client.post(documents_url(application), {"accept": str(document.public_id)})

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == DocumentStatus.ACCEPTED and document.reviewed_by == reviewer
    event = StageEvent.objects.filter(application=application).last()
    assert event.data["action"] == "accepted"


def test_rejecting_a_document_with_a_catalogue_reason_the_customer_will_see(client, with_document, reviewer):
    application, document = with_document
    reason = Reason.objects.get(code="photo_unreadable")
    client.force_login(reviewer)

    response = client.post(
        documents_url(application),
        {"reject": str(document.public_id), f"reason-{document.public_id}": reason.pk},
        follow=True,
    )

    document.refresh_from_db()
    assert (document.status, document.rejection_reason) == (DocumentStatus.REJECTED, reason)
    assert any("rejected: The photo is unreadable" in m for m in messages_of(response))


def test_rejecting_a_document_without_a_reason_changes_nothing(client, with_document, reviewer):
    application, document = with_document
    events = StageEvent.objects.filter(application=application).count()
    client.force_login(reviewer)

    response = client.post(documents_url(application), {"reject": str(document.public_id)}, follow=True)

    document.refresh_from_db()
    assert document.status == DocumentStatus.PENDING
    assert StageEvent.objects.filter(application=application).count() == events
    assert any("Choose what is wrong with the document." in m for m in messages_of(response))


def test_a_document_checked_twice_gets_a_message_not_an_error(client, with_document, reviewer):
    application, document = with_document
    client.force_login(reviewer)
    client.post(documents_url(application), {"accept": str(document.public_id)})

    response = client.post(documents_url(application), {"accept": str(document.public_id)}, follow=True)

    assert response.status_code == 200
    assert any("already been checked" in m for m in messages_of(response))


def test_staff_without_the_document_permission_get_no_buttons_and_are_refused(client, with_document, manager):
    application, document = with_document
    client.force_login(manager)  # sees every stage, does not check documents

    page = client.get(page_url(application)).content.decode()
    response = client.post(documents_url(application), {"accept": str(document.public_id)})

    assert f'name="accept" value="{document.public_id}"' not in page
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.status == DocumentStatus.PENDING


# --- History ------------------------------------------------------------------------------------


def test_the_history_inline_is_read_only_and_shows_assignments(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(page_url(application)).content.decode()

    assert "Assigned automatically: reviewer" in page
    assert 'name="events-0-note"' not in page  # read-only: no inputs
    assert 'name="_save"' not in page  # and no save button on the page


def test_the_page_costs_the_same_queries_however_many_documents_and_events(
    client, pipeline, reviewer, customer, django_assert_num_queries
):
    application = pipeline.new(Stage.UNDER_REVIEW)
    upload(application, "id_card_front", customer)
    client.force_login(reviewer)
    client.get(page_url(application))  # warms the content-type cache, as any running server has
    # 1 user, 2 the user's roles, 3 the application with dealer, product, applicant and the people
    # it names, 4 its open assignment with the assignee, 5-6 the user's own and group permissions,
    # 7 the applicant inline, 8 the documents inline with types and reasons, 9 the partner steps
    # inline with their causes, 10 the history inline with actors, 11-13 whether every required
    # document is on file (documents, required types, requests: "recommend approval"'s condition),
    # 14 document problems and 15 rejection reasons for the buttons' forms, 16 document types to
    # request, 17 document problems for the documents inline's reject buttons, 18 document-type
    # names for the history's document events, 19 the catalogue's delay reasons for the
    # cause-of-delay form. (The session comes from the cache; the file is assigned, so nobody is
    # asked who may claim it.)
    with django_assert_num_queries(19):
        client.get(page_url(application))
    for code in ("id_card_back", "driving_licence", "income_proof"):
        upload(application, code, customer)

    with django_assert_num_queries(19):
        client.get(page_url(application))


# --- Assignment on the page ---------------------------------------------------------------------


def test_assign_to_me_on_the_page(client, pipeline, reviewer):
    AssignmentRule.objects.update(is_active=False)
    application = pipeline.new(Stage.UNDER_REVIEW)
    AssignmentRule.objects.update(is_active=True)
    client.force_login(reviewer)

    page = client.get(page_url(application)).content.decode()
    assert reverse("admin:applications_loanapplication_claim", args=[application.pk]) in page

    response = client.post(
        reverse("admin:applications_loanapplication_claim", args=[application.pk]), follow=True
    )

    assert services.open_assignment(application=application).assignee == reviewer
    assert "Assigned to you." in messages_of(response)


def test_a_refused_claim_says_why(client, pipeline, approver, make_user):
    both = make_user("reviewer_and_approver", Role.REVIEWER, Role.APPROVER)
    pipeline.reviewer = both
    application = pipeline.new(Stage.APPROVAL)  # recommended by `both`, to `approver`
    client.force_login(both)

    response = client.post(
        reverse("admin:applications_loanapplication_claim", args=[application.pk]), follow=True
    )

    assert "You recommended this application, so someone else must approve it." in messages_of(response)
    assert services.open_assignment(application=application).assignee == approver


def test_a_manager_reassigns_on_the_page_and_others_cannot(client, pipeline, reviewer, manager, make_user):
    other = make_user("reviewer_two", Role.REVIEWER)
    application = pipeline.new(Stage.UNDER_REVIEW)
    url = reverse("admin:applications_loanapplication_reassign", args=[application.pk])

    client.force_login(reviewer)
    assert client.post(url, {"assignee": other.pk}).status_code == 403
    client.force_login(manager)
    page = client.get(page_url(application)).content.decode()
    assert f'<option value="{other.pk}">reviewer_two</option>' in page
    client.post(url, {"assignee": other.pk})

    assert services.open_assignment(application=application).assignee == other


def test_the_page_in_chinese(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(page_url(application), headers={"accept-language": "zh-hans"}).content.decode()

    assert '<html lang="zh-hans"' in page
    assert "人工审核" in page or "审核中" in page  # the stage in Chinese
