"""The back office in a real browser: a reviewer works the queue in /admin/, asks the customer for a
document, recommends approval; a different approver sets the offer; the reviewer, though also an
approver, cannot approve their own file.

Screenshots in ``test-results/``: backoffice-queue-1280-zh.png, backoffice-phone-search-1280-zh.png,
backoffice-queue-1280-en.png,
backoffice-application-1280-zh.png, backoffice-application-1280-en.png,
backoffice-approval-1280-zh.png. The queue and the file are checked with axe-core.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.browser.builders import in_review
from tests.browser.pages import (
    DESKTOP,
    SCREENSHOTS,
    BrowserProblems,
    assert_accessible,
    screenshot,
    signed_in_context,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"


@pytest.fixture
def back_office(transactional_db):
    """The back office's default assignment rules, which these tests rely on (idempotent)."""
    from django.apps import apps

    from reviews import defaults

    defaults.load(apps)


@pytest.fixture
def people(back_office, django_user_model):
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from applications.tests.factories import DealerFactory

    def person(username: str, *roles: str, staff: bool = True):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.cn", is_staff=staff
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    dealer = DealerFactory()
    return {
        "customer": person("zhang_wei", Role.CUSTOMER, staff=False),
        # A reviewer who is also an approver: four-eyes, not the role, must stop them approving.
        "reviewer": person("li_na", Role.REVIEWER, Role.APPROVER),
        "approver": person("wang_fang", Role.APPROVER),
        "dealer": dealer,
    }


def sign_in_to_admin(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(page.locator("#user-tools")).to_contain_text(username)


def stage_of(application) -> str:
    application.refresh_from_db()
    return application.stage


def test_reviewer_requests_a_document_recommends_and_a_different_approver_sets_the_offer(
    browser: Browser, live_server, people
):
    from applications import services
    from applications.choices import Stage
    from applications.models import DocumentType, LoanApplication, Reason, StageEvent
    from notifications.models import Notification
    from reviews.tests.builders import PDF

    customer, reviewer, approver = people["customer"], people["reviewer"], people["approver"]
    application = in_review(customer=customer, dealer=people["dealer"], phone="13912345678")
    more_income = Reason.objects.get(code="more_income_proof")

    # --- The reviewer signs in to /admin/ and opens "assigned to me" ---
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP)
    page = context.new_page()
    problems = BrowserProblems(page)
    sign_in_to_admin(page, live_server, "li_na")
    page.goto(f"{live_server.url}{reverse('admin:applications_loanapplication_changelist')}")
    page.locator(".lp-queues a[href='?queue=mine']").click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(page.locator(".lp-queues a.lp-active")).to_have_attribute("href", "?queue=mine")
    row = page.locator("#result_list tbody tr", has_text=application.display_reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("张* · 139****5678")
    expect(row.locator(".lp-sla")).to_have_class(re.compile(r"lp-sla-on_time"))
    assert "13912345678" not in page.content()
    screenshot(page, "backoffice-queue-1280-zh")
    assert_accessible(page, "backoffice-queue-1280-zh")

    # --- Searching by mobile number: the box posts, the address carries a token, not the number ---
    page.locator("#searchbar").fill("139 1234 5678")
    page.locator("#changelist-search [type=submit]").click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    assert "find=" in page.url and "13912345678" not in page.url and "1234" not in page.url
    expect(row).to_have_count(1)
    expect(page.locator("#changelist-search")).to_contain_text("139****5678")
    screenshot(page, "backoffice-phone-search-1280-zh")

    # --- ... and asks for a bank statement, with a reason from the catalogue ---
    row.locator("th a, td a").first.click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(page.locator("#lp-work-title")).to_be_visible()
    screenshot(page, "backoffice-application-1280-zh")
    assert_accessible(page, "backoffice-application-1280-zh")
    # Opening a document downloads it through the back office, and the opening is logged.
    from reviews.models import PiiAccessLog

    with page.expect_download() as download:
        link = page.locator(".field-open_link a").first
        # A navigation that turns into a download is "failed" to Chromium: expected here.
        problems.tolerate(link.get_attribute("href"))
        link.click()
    assert download.value.suggested_filename.startswith(application.reference)
    opened = PiiAccessLog.objects.get(user=reviewer)
    assert (opened.application_id, opened.field) == (application.pk, "document")
    action = page.locator("details.lp-action", has=page.locator("[data-transition=request_documents]"))
    action.locator("summary").click()
    bank_statement = DocumentType.objects.get(code="bank_statement")
    action.locator(f"input[name='request_documents-document_types'][value='{bank_statement.pk}']").check()
    action.locator("select[name='request_documents-reason']").select_option(str(more_income.pk))
    action.locator("textarea[name='request_documents-note']").fill("流水只有三个月")
    action.locator("button[type=submit]").click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert stage_of(application) == Stage.AWAITING_DOCUMENTS

    # --- The customer's timeline shows what is asked, and why ---
    customer_context = signed_in_context(browser, live_server, customer)
    customer_page = customer_context.new_page()
    customer_page.goto(f"{live_server.url}{reverse('applications:detail', args=[application.reference])}")
    expect(customer_page.locator("body")).to_contain_text(bank_statement.name_zh_hans)
    expect(customer_page.locator("body")).to_contain_text(more_income.text_zh_hans)
    screenshot(customer_page, "backoffice-customer-timeline-1280-zh")
    assert Notification.objects.filter(recipient=customer, application=application).exists()

    # The customer uploads it; review resumes by itself.
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.document_upload(
        application=application,
        document_type=bank_statement,
        uploaded_file=SimpleUploadedFile("flow.pdf", PDF, content_type="application/pdf"),
        actor=customer,
    )
    assert stage_of(application) == Stage.UNDER_REVIEW

    # --- The reviewer recommends approval ---
    page.reload()
    action = page.locator("details.lp-action", has=page.locator("[data-transition=recommend_approval]"))
    action.locator("summary").click()
    action.locator("textarea[name='recommend_approval-note']").fill("收入稳定，负债低")
    action.locator("button[type=submit]").click()
    page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert stage_of(application) == Stage.APPROVAL

    # --- They hold the approver role too, yet their own file offers them no approval button ---
    expect(page.locator("#lp-work-title")).to_be_visible()  # approval is a stage they work
    expect(page.locator("[data-transition=approve]")).to_have_count(0)
    expect(page.locator("[data-transition=decline]")).to_have_count(0)
    # ... and a forged POST is refused on the server, with nothing changed.
    events_before = StageEvent.objects.filter(application=application).count()
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        f"{live_server.url}{reverse('admin:applications_loanapplication_transition', args=[application.pk, 'approve'])}",
        form={
            "approve-seen_stage": Stage.APPROVAL,
            "approve-amount": "140000.00",
            "approve-rate_percent": "5.00",
            "approve-term_months": "36",
            "approve-note": "",
        },
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )
    assert forged.status == 403
    problems.tolerate(
        reverse("admin:applications_loanapplication_transition", args=[application.pk, "approve"])
    )
    assert stage_of(application) == Stage.APPROVAL
    assert StageEvent.objects.filter(application=application).count() == events_before
    assert LoanApplication.objects.get(pk=application.pk).approved_by is None

    # --- A different approver signs in, finds it assigned to them and sets the offer ---
    approver_context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP)
    approver_page = approver_context.new_page()
    approver_problems = BrowserProblems(approver_page)
    sign_in_to_admin(approver_page, live_server, "wang_fang")
    approver_page.goto(
        f"{live_server.url}{reverse('admin:applications_loanapplication_changelist')}?queue=mine"
    )
    approver_page.locator("#result_list a", has_text=application.display_reference).click()
    approver_page.wait_for_load_state()  # every image in, before the next page aborts one
    action = approver_page.locator(
        "details.lp-action", has=approver_page.locator("[data-transition=approve]")
    )
    action.locator("summary").click()
    action.locator("input[name='approve-amount']").fill("130000.00")
    action.locator("input[name='approve-rate_percent']").fill("5.20")
    action.locator("select[name='approve-term_months']").select_option("36")
    action.locator("textarea[name='approve-note']").fill("同意，金额下调")
    screenshot(approver_page, "backoffice-approval-1280-zh")
    action.locator("button[type=submit]").click()
    approver_page.wait_for_load_state()  # every image in, before the next page aborts one
    expect(approver_page.locator(".messagelist .success")).to_be_visible()

    application.refresh_from_db()
    assert application.stage == Stage.OFFER_PENDING
    assert (application.approved_by, application.reviewed_by) == (approver, reviewer)
    assert (application.approved_amount, application.approved_rate) == (
        Decimal("130000.00"),
        Decimal("0.0520"),
    )
    assert problems.unexpected() == [] and approver_problems.unexpected() == []
    for ctx in (context, customer_context, approver_context):
        ctx.close()


def test_queue_and_application_page_in_english(browser: Browser, live_server, people):
    customer = people["customer"]
    for amount in ("140000.00", "90000.00"):
        application = in_review(customer=customer, dealer=people["dealer"], requested_amount=Decimal(amount))
    context = signed_in_context(browser, live_server, people["reviewer"], locale="en-US")
    page = context.new_page()
    problems = BrowserProblems(page)

    page.goto(f"{live_server.url}{reverse('admin:applications_loanapplication_changelist')}")
    expect(page.locator(".lp-queues")).to_contain_text("Assigned to me")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("¥140,000.00")
    screenshot(page, "backoffice-queue-1280-en")
    page.goto(
        f"{live_server.url}{reverse('admin:applications_loanapplication_change', args=[application.pk])}"
    )
    expect(page.locator("#lp-work-title")).to_have_text("Work on this application")
    expect(page.locator("details.lp-action summary")).to_have_text(
        ["Recommend approval", "Request documents", "Reject", "Set the cause of delay"]
    )
    screenshot(page, "backoffice-application-1280-en")
    assert problems.unexpected() == []
    assert SCREENSHOTS.exists()
    context.close()
