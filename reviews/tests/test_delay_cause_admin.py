"""Causes of delay in the back office: set on the application page or for a selection in the queue,
shown in the queue's column and filter; refused for staff who do not work the stage."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from applications.choices import EventKind, Stage
from applications.models import LoanApplication, Reason

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:applications_loanapplication_changelist")


def page_url(application: LoanApplication) -> str:
    return reverse("admin:applications_loanapplication_change", args=[application.pk])


def delay_url(application: LoanApplication) -> str:
    return reverse("admin:applications_loanapplication_delay", args=[application.pk])


def reason_pk(code: str) -> int:
    return Reason.objects.get(code=code).pk


def references(response) -> list[str]:
    return re.findall(
        r'class="field-display_reference"><a href="[^"]+">([A-Z0-9-]+)</a>', response.content.decode()
    )


def test_a_reviewer_sets_the_cause_on_the_page_with_a_note_for_staff(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)
    page = client.get(page_url(application)).content.decode()
    assert "Set the cause of delay" in page and 'name="delay-reason"' in page

    response = client.post(
        delay_url(application),
        {"delay-reason": reason_pk("additional_verification"), "delay-note": "employer did not answer"},
        follow=True,
    )
    assert "Cause of delay: Some details need further checking." in response.content.decode()
    application.refresh_from_db()
    assert application.delay_reason.code == "additional_verification"
    event = application.events.latest("sequence")
    assert (event.kind, event.actor, event.note) == (EventKind.DELAY, reviewer, "employer did not answer")
    # The page shows the current cause; the history names the action in staff words.
    page = client.get(page_url(application)).content.decode()
    assert "Some details need further checking" in page and "Cause of delay set" in page


def test_a_reason_of_another_kind_is_refused_on_the_page(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)
    client.post(delay_url(application), {"delay-reason": reason_pk("dti_too_high")})
    application.refresh_from_db()
    assert application.delay_reason is None


def test_staff_of_another_stage_get_no_form_and_are_refused(client, pipeline, make_user):
    from accounts.roles import Role

    application = pipeline.new(Stage.UNDER_REVIEW)
    finance = make_user("finance_two", Role.FINANCE)
    client.force_login(finance)
    response = client.post(delay_url(application), {"delay-reason": reason_pk("high_volume")})
    assert response.status_code == 404  # not a stage they see at all
    application.refresh_from_db()
    assert application.delay_reason is None


def test_the_queue_sets_one_cause_for_the_selection_and_shows_and_filters_by_it(client, pipeline, manager):
    first, second, other = (pipeline.new(Stage.UNDER_REVIEW) for _ in range(3))
    client.force_login(manager)
    selected = {"action": "set_delay_cause_selected", "_selected_action": [first.pk, second.pk]}

    ask = client.post(QUEUE, selected)
    assert ask.status_code == 200 and b'name="delay-reason"' in ask.content

    client.post(
        QUEUE, {**selected, "apply": "1", "delay-reason": reason_pk("third_party_wait"), "delay-note": ""}
    )
    for application in (first, second):
        application.refresh_from_db()
        assert application.delay_reason.code == "third_party_wait"
        assert application.events.filter(kind=EventKind.DELAY, actor=manager).count() == 1

    filtered = client.get(QUEUE, {"delay": "third_party_wait"})
    assert sorted(references(filtered)) == sorted([first.display_reference, second.display_reference])
    assert "Waiting for the vehicle registration office" in filtered.content.decode()  # the column
    assert references(client.get(QUEUE, {"delay": "none"})) == [other.display_reference]


def test_the_queue_names_the_files_it_could_not_set_a_cause_for(client, pipeline, customer, manager):
    from applications import services as core

    open_file = pipeline.new(Stage.UNDER_REVIEW)
    closed = core.application_withdraw(application=pipeline.new(Stage.UNDER_REVIEW), actor=customer)
    client.force_login(manager)  # managers see closed files too
    response = client.post(
        QUEUE,
        {
            "action": "set_delay_cause_selected",
            "_selected_action": [open_file.pk, closed.pk],
            "apply": "1",
            "delay-reason": reason_pk("high_volume"),
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Cause of delay set to “We are handling more applications than usual”: 1." in page
    assert closed.display_reference in page
    open_file.refresh_from_db()
    assert open_file.delay_reason.code == "high_volume"
