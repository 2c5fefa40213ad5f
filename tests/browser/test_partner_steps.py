"""Partner steps in a real browser: the customer's timeline shows the current stage's steps as
sub-steps in plain words (Chinese and English, axe-core on each), and when operations record the
vehicle registry's answer on the application page in /admin/, the customer's timeline shows it done.

Screenshots in ``test-results/``: partner-steps-timeline-375-zh.png, partner-steps-timeline-1280-en.png,
partner-steps-admin-1280-en.png, partner-steps-done-375-zh.png.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from applications import services
from applications.choices import PartnerStepKind, PartnerStepStatus
from applications.models import LoanApplication, PartnerStep
from tests.browser.builders import at_offer

from .pages import BrowserProblems, assert_accessible, screenshot, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOOK = "applications.services.partner_steps.steps_on_stage_entry"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def at_lien_registration(customer, dealer, reviewer, approver, operations, settings) -> LoanApplication:
    """Contract signed (its e-signature and insurance done): the vehicle registry registers the lien
    and the installer fits the GPS tracker."""
    settings.LOANPORTAL_STAGE_HOOKS = [*settings.LOANPORTAL_STAGE_HOOKS, HOOK]
    application = at_offer(customer=customer, dealer=dealer, reviewer=reviewer, approver=approver)
    application = services.offer_accept(application=application, actor=customer)
    for step in PartnerStep.objects.filter(application=application, stage=application.stage):
        services.partner_step_report(step=step, status=PartnerStepStatus.DONE)
    return services.contract_mark_signed(application=application, actor=operations)


def test_the_customer_sees_the_registrys_sub_step_and_operations_record_its_answer(
    browser: Browser, live_server, at_lien_registration, customer, operations
):
    application = at_lien_registration
    timeline_url = live_server.url + reverse("applications:detail", args=[application.reference])

    context = signed_in_context(browser, live_server, customer, locale="zh-CN")
    page = context.new_page()
    problems = BrowserProblems(page)
    page.set_viewport_size(PHONE)
    page.goto(timeline_url)
    lien = page.locator('[data-testid="partner-steps"] [data-kind="lien_registration"]')
    expect(lien).to_contain_text("车辆管理所正在办理抵押登记：通常需要 2 个工作日")
    expect(lien).to_have_attribute("data-status", "requested")
    expect(page.locator('[data-testid="partner-steps"]')).not_to_contain_text("Vehicle registry")
    assert_accessible(page, "partner-steps-timeline-375-zh")
    screenshot(page, "partner-steps-timeline-375-zh")
    context.close()

    context = signed_in_context(browser, live_server, customer, locale="en-GB")
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page = context.new_page()
    page.goto(timeline_url)
    steps = page.locator('[data-testid="partner-steps"]')
    expect(steps).to_contain_text("The vehicle registry is registering the lien: usually 2 working days")
    assert_accessible(page, "partner-steps-timeline-1280-en")
    screenshot(page, "partner-steps-timeline-1280-en")
    context.close()

    staff = signed_in_context(browser, live_server, operations, locale="en-GB")
    staff.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    admin = staff.new_page()
    admin.goto(live_server.url + reverse("admin:applications_loanapplication_change", args=[application.pk]))
    step = PartnerStep.objects.get(application=application, kind=PartnerStepKind.LIEN_REGISTRATION)
    admin.locator(f'button[name="status-{step.pk}"][value="done"]').click()
    expect(admin.locator(".messagelist")).to_be_visible()
    screenshot(admin, "partner-steps-admin-1280-en")
    staff.close()
    step.refresh_from_db()
    assert step.status == PartnerStepStatus.DONE

    context = signed_in_context(browser, live_server, customer, locale="zh-CN")
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(timeline_url)
    lien = page.locator('[data-testid="partner-steps"] [data-kind="lien_registration"]')
    expect(lien).to_contain_text("车辆管理所已完成抵押登记")
    expect(lien).to_have_attribute("data-status", "done")
    assert_accessible(page, "partner-steps-done-375-zh")
    screenshot(page, "partner-steps-done-375-zh")
    context.close()
    assert problems.unexpected() == [], "the browser reported problems"
