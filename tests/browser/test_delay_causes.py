"""A cause of delay in a real browser: a reviewer sets it on the application page in /admin/, and the
customer's timeline and inbox show it with its remedy, in Chinese. axe-core checks the pages
(the application page's work panel with the new form, the queue's bulk page, the timeline, the
inbox).

Screenshots in ``test-results/``: delay-cause-admin-1280-en.png, delay-cause-bulk-1280-en.png,
delay-cause-timeline-1280-zh.png, delay-cause-inbox-1280-zh.png.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from tests.browser.builders import in_review
from tests.browser.pages import BrowserProblems, screenshot, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"


@pytest.fixture
def people(transactional_db, django_user_model):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from applications.tests.factories import DealerFactory
    from reviews import defaults

    defaults.load(apps)  # the assignment rules, as after a migration

    def person(username: str, *roles: str, staff: bool = True):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.cn", is_staff=staff
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    return {
        "customer": person("zhang_wei", Role.CUSTOMER, staff=False),
        "reviewer": person("li_na", Role.REVIEWER),
        "dealer": DealerFactory(),
    }


# WCAG 2.1 A and AA; serious and critical violations fail.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
    # axe's CSSOM preload re-fetches the admin's forms.css @import ('widgets.css') relative to the
    # page instead of the stylesheet: a 404 of axe's own making, not the site's.
    "preload": False,
}


def expect_accessible(page, name: str, *, within: str | None = None) -> None:
    """No serious or critical WCAG 2.1 A/AA violation (axe-core, its script from inside the package),
    on the page or within a part of it (Django admin's own pages are not ours to fix here: only
    what this feature adds)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=within, options=AXE_OPTIONS)
    problems = [
        f"{violation['id']} ({violation['impact']}) at {' '.join(map(str, node['target']))}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]
    assert not problems, f"axe on {name} ({page.url}):\n  " + "\n  ".join(problems)


def test_staff_set_a_cause_and_the_customer_sees_it_with_its_remedy(browser: Browser, live_server, people):
    from applications.models import Reason

    customer, reviewer = people["customer"], people["reviewer"]
    application = in_review(customer=customer, dealer=people["dealer"])
    cause = Reason.objects.get(code="additional_verification")

    # --- The reviewer sets the cause on the application page, with a note for staff ---
    staff = signed_in_context(browser, live_server, reviewer, locale="en-US")
    page = staff.new_page()
    problems = BrowserProblems(page)
    page.goto(
        f"{live_server.url}{reverse('admin:applications_loanapplication_change', args=[application.pk])}"
    )
    expect(page.locator("[data-testid=delay-cause]")).to_contain_text("None recorded")
    form = page.locator("details.lp-action-delay")
    form.locator("summary").click()
    form.locator("select[name='delay-reason']").select_option(str(cause.pk))
    form.locator("textarea[name='delay-note']").fill("employer's HR did not answer twice")
    expect_accessible(page, "delay-cause-admin", within=".lp-work")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".messagelist .success")).to_contain_text(cause.text_en)
    expect(page.locator("[data-testid=delay-cause]")).to_contain_text(cause.text_en)
    screenshot(page, "delay-cause-admin-1280-en")

    # --- The queue's bulk action asks for the cause on a page of its own ---
    queue = reverse("admin:applications_loanapplication_changelist")
    page.goto(f"{live_server.url}{queue}")
    page.locator(f"input.action-select[value='{application.pk}']").check()
    page.locator("select[name=action]").select_option("set_delay_cause_selected")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()
    expect(page.locator("select[name='delay-reason']")).to_be_visible()
    expect_accessible(page, "delay-cause-bulk", within="#content-main")
    screenshot(page, "delay-cause-bulk-1280-en")
    assert problems.unexpected() == []

    # --- The customer's timeline shows the cause and its remedy, never the staff note ---
    customer_context = signed_in_context(browser, live_server, customer)
    customer_page = customer_context.new_page()
    customer_problems = BrowserProblems(customer_page)
    customer_page.goto(f"{live_server.url}{reverse('applications:detail', args=[application.reference])}")
    notice = customer_page.locator("[data-testid=delay]")
    expect(notice).to_contain_text(cause.text_zh_hans)
    expect(notice).to_contain_text(cause.remedy_zh_hans)
    expect(customer_page.locator("body")).to_contain_text("此步骤用时较长的原因")  # the history entry
    assert "HR did not answer" not in customer_page.content()
    expect_accessible(customer_page, "delay-cause-timeline")
    screenshot(customer_page, "delay-cause-timeline-1280-zh")

    # --- ... and so does the inbox, once ---
    customer_page.goto(f"{live_server.url}{reverse('notifications:inbox')}")
    message = customer_page.locator("[data-testid=notifications] .lp-notification").filter(
        has_text=cause.text_zh_hans
    )
    expect(message).to_have_count(1)
    expect(message).to_contain_text(cause.remedy_zh_hans)
    expect_accessible(customer_page, "delay-cause-inbox")
    screenshot(customer_page, "delay-cause-inbox-1280-zh")
    assert customer_problems.unexpected() == []
