"""Staff record a partner's answer on the application page: the steps inline, its buttons, and who
may press them (the page's scope, then the service's rule: staff of the step's stage or managers)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications import services
from applications.choices import EventKind, PartnerStepKind, PartnerStepStatus
from applications.models import LoanApplication, PartnerStep, Reason
from applications.tests.factories import at_offer

HOOK = "applications.services.partner_steps.steps_on_stage_entry"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def signing(customer, dealer, reviewer, approver, operations, settings):
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    entered = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
    with time_machine.travel(entered, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=entered)
        return services.offer_accept(application=application, actor=customer, now=entered)


def page_url(application: LoanApplication) -> str:
    return reverse("admin:applications_loanapplication_change", args=[application.pk])


def answer_url(application: LoanApplication) -> str:
    return reverse("admin:applications_loanapplication_partner_step", args=[application.pk])


def step_of(application: LoanApplication, kind: str) -> PartnerStep:
    return PartnerStep.objects.get(application=application, kind=kind)


def test_operations_see_the_steps_with_their_partner_and_record_an_answer(client, signing, operations):
    client.force_login(operations)
    page = client.get(page_url(signing)).content.decode()
    insurance = step_of(signing, PartnerStepKind.INSURANCE_POLICY)
    assert "合作保险公司 Partner insurer" in page  # staff see the partner
    assert f'name="status-{insurance.pk}" value="done"' in page
    response = client.post(answer_url(signing), {f"status-{insurance.pk}": PartnerStepStatus.DONE})
    assert response.status_code == 302
    insurance.refresh_from_db()
    assert insurance.status == PartnerStepStatus.DONE
    event = signing.events.order_by("-sequence").first()
    assert event.kind == EventKind.PARTNER and event.actor == operations


def test_a_failure_recorded_with_a_cause_becomes_the_files_cause_of_delay(client, signing, operations):
    client.force_login(operations)
    insurance = step_of(signing, PartnerStepKind.INSURANCE_POLICY)
    cause = Reason.objects.get(code="third_party_wait")
    client.post(
        answer_url(signing),
        {f"status-{insurance.pk}": PartnerStepStatus.FAILED, f"cause-{insurance.pk}": str(cause.pk)},
    )
    insurance.refresh_from_db()
    assert insurance.status == PartnerStepStatus.FAILED and insurance.failure_cause == cause
    assert LoanApplication.objects.get(pk=signing.pk).delay_reason == cause
    page = client.get(page_url(signing)).content.decode()
    assert f'name="status-{insurance.pk}" value="requested"' in page  # "Ask again"


def test_staff_whose_roles_do_not_work_the_stage_get_404_and_change_nothing(
    client, signing, finance, reviewer
):
    insurance = step_of(signing, PartnerStepKind.INSURANCE_POLICY)
    for user in (finance, reviewer):
        client.force_login(user)
        assert client.get(page_url(signing)).status_code == 404
        response = client.post(answer_url(signing), {f"status-{insurance.pk}": PartnerStepStatus.DONE})
        assert response.status_code == 404
    insurance.refresh_from_db()
    assert insurance.status == PartnerStepStatus.REQUESTED


def test_a_customer_is_sent_to_sign_in_and_changes_nothing(client, signing, customer):
    insurance = step_of(signing, PartnerStepKind.INSURANCE_POLICY)
    client.force_login(customer)
    response = client.post(answer_url(signing), {f"status-{insurance.pk}": PartnerStepStatus.DONE})
    assert response.status_code == 302 and "login" in response.url
    insurance.refresh_from_db()
    assert insurance.status == PartnerStepStatus.REQUESTED


def test_a_manager_sees_every_step_and_may_record_any(client, signing, manager):
    client.force_login(manager)
    signature = step_of(signing, PartnerStepKind.E_SIGNATURE)
    client.post(answer_url(signing), {f"status-{signature.pk}": PartnerStepStatus.IN_PROGRESS})
    signature.refresh_from_db()
    assert signature.status == PartnerStepStatus.IN_PROGRESS


def test_a_step_of_another_file_cannot_be_answered_through_this_ones_page(
    client, signing, operations, customer, dealer, reviewer, approver
):
    other = at_offer(customer, dealer, reviewer, approver)
    other = services.offer_accept(application=other, actor=customer)
    foreign = step_of(other, PartnerStepKind.INSURANCE_POLICY)
    client.force_login(operations)
    client.post(answer_url(signing), {f"status-{foreign.pk}": PartnerStepStatus.DONE})
    foreign.refresh_from_db()
    assert foreign.status == PartnerStepStatus.REQUESTED


def test_the_requirements_are_configuration_managers_edit(client, manager, operations):
    url = reverse("admin:applications_partnersteprequirement_changelist")
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "车辆管理所 Vehicle registry" in page
    client.force_login(operations)
    assert client.get(url).status_code == 403


def test_the_pages_history_names_each_partner_steps_change(client, signing, operations):
    services.partner_step_report(
        step=step_of(signing, PartnerStepKind.INSURANCE_POLICY), status=PartnerStepStatus.IN_PROGRESS
    )
    client.force_login(operations)
    page = client.get(page_url(signing), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Insurance policy: In progress" in page
    assert "E-signature of the contract: Requested" in page
