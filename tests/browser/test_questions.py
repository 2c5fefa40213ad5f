"""Asking about an application in a real browser: the customer asks on the timeline (with a photo),
a reviewer answers in the back office by picking a canned answer, the customer reads the answer on
the timeline and finds the notification in the inbox. axe on every customer page of the journey.

Screenshots in ``test-results/``: question-asked-375-zh.png, question-admin-1280-en.png,
question-answered-375-zh.png, question-answered-1280-en.png, question-inbox-375-zh.png.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Page, expect

from tests.browser.builders import in_review
from tests.browser.pages import (
    DESKTOP,
    BrowserProblems,
    assert_accessible,
    expect_no_sideways_scrolling,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CANNED = "Reviews take about one working day; we will let you know as soon as it is done."


def words(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def people(transactional_db, django_user_model):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from applications.tests.factories import DealerFactory
    from reviews import defaults
    from reviews.models import CannedAnswer

    defaults.load(apps)  # the back office's assignment rules: the reviewer is given the file

    def person(username: str, *roles: str, staff: bool = True):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.cn", is_staff=staff
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    CannedAnswer.objects.create(title="Review time", text=CANNED, position=1)
    return {
        "customer": person("zhang_wei", Role.CUSTOMER, staff=False),
        "reviewer": person("li_na", Role.REVIEWER),
        "dealer": DealerFactory(),
    }


def test_customer_asks_staff_answer_with_a_canned_answer_and_the_customer_is_told(
    page: Page, browser: Browser, live_server, people, tmp_path
):
    from applications.models import ThreadMessage
    from notifications.choices import Kind
    from notifications.models import Notification

    customer, reviewer = people["customer"], people["reviewer"]
    application = in_review(customer=customer, dealer=people["dealer"])
    problems = BrowserProblems(page)
    sign_in(page, live_server, customer)
    timeline_url = f"{live_server.url}/applications/{application.reference}/"

    # The customer, on a phone, in Chinese: the question with a photo of the payslip.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(timeline_url)
    expect(page.locator("#questions-heading")).to_have_text(words("zh-hans", "Ask about this application"))
    page.get_by_label(words("zh-hans", "Your question")).fill("我的工资单够用吗？")
    photo = tmp_path / "payslip.png"
    photo.write_bytes(PNG)
    page.get_by_label(words("zh-hans", "Attach a file (optional)")).set_input_files(photo)
    page.get_by_role("button", name=words("zh-hans", "Send")).click()
    expect(page.locator(".alert-success")).to_contain_text(
        words("zh-hans", "Thank you. We have your question and will answer it soon.")
    )
    thread = page.locator("#questions")
    expect(thread).to_contain_text("我的工资单够用吗？")
    expect(thread.get_by_role("link", name="payslip.png")).to_be_visible()
    expect_no_sideways_scrolling(page)
    screenshot(page, "question-asked-375-zh")
    assert_accessible(page, "question-asked-375-zh")

    # The reviewer, in the back office: the thread is in the queue of those waiting for a reply;
    # picking the canned answer fills the box, and sending answers the customer.
    staff = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", viewport=DESKTOP)
    admin = staff.new_page()
    admin_problems = BrowserProblems(admin)
    admin.goto(f"{live_server.url}/admin/applications/questionthread/?awaiting=yes")
    admin.locator("#id_username").fill(reviewer.username)
    admin.locator("#id_password").fill(PASSWORD)
    admin.locator("#login-form [type=submit]").click()
    admin.get_by_role("link", name=application.display_reference).click()
    expect(admin.get_by_test_id("message-question")).to_contain_text("我的工资单够用吗？")
    admin.get_by_label("Canned answer").select_option(label="Review time")
    expect(admin.locator("#id_body")).to_have_value(CANNED)
    screenshot(admin, "question-admin-1280-en")
    admin.get_by_role("button", name="Send").click()
    expect(admin.locator(".messagelist")).to_contain_text("Answer sent. The customer is notified.")
    expect(admin.get_by_test_id("message-answer")).to_contain_text(CANNED)
    assert ThreadMessage.objects.get(kind="answer").body == CANNED
    staff.close()
    assert admin_problems.unexpected() == []

    # The customer comes back: the answer is on the timeline, and the inbox says so.
    page.goto(timeline_url)
    expect(thread).to_contain_text(CANNED)
    expect(thread).to_contain_text(words("zh-hans", "Customer service"))
    screenshot(page, "question-answered-375-zh")
    assert_accessible(page, "question-answered-375-zh")
    assert Notification.objects.filter(recipient=customer, kind=Kind.QUESTION_ANSWERED).count() == 1
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator("main")).to_contain_text(words("zh-hans", "Your question has been answered"))
    screenshot(page, "question-inbox-375-zh")
    assert_accessible(page, "question-inbox-375-zh")

    # The same thread in English on a desktop.
    page.set_viewport_size(DESKTOP)
    page.goto(timeline_url)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#questions-heading")).to_have_text("Ask about this application")
    expect(page.locator("#questions")).to_contain_text("Customer service")
    screenshot(page, "question-answered-1280-en")
    assert_accessible(page, "question-answered-1280-en")
    assert problems.unexpected() == []
