"""The customer's side after applying, in a real browser: timeline, offer, acceptance, tracking.

Screenshots land in ``test-results/`` (timeline-375-zh.png, timeline-1280-en.png, offer-…, track-…).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.signals import template_rendered
from django.utils import timezone
from playwright.sync_api import Page, expect

from applications import services
from applications.choices import EventKind, Stage
from applications.models import DocumentType, LoanApplication
from applications.tests.factories import make_draft

from .pages import (
    assert_accessible,
    expect_navbar_on_one_row,
    expect_styled,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"
PDF = b"%PDF-1.4\n% a test document\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # stage medians and tracking limits: the live server shares this process's cache
    yield
    cache.clear()


def offer_waiting(customer, dealer, reviewer, approver) -> LoanApplication:
    """Through the services: documents, submission (the pre-check runs on commit, eagerly, and
    passes the file to review), the reviewer's recommendation, the approver's offer."""
    application = make_draft(customer=customer, dealer=dealer)
    for doc_type in DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW):
        services.document_upload(
            application=application,
            document_type=doc_type,
            uploaded_file=SimpleUploadedFile(f"{doc_type.code}.pdf", PDF),
            actor=customer,
        )
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW, "the pre-check should have passed the file on"
    application = services.review_recommend(application=application, actor=reviewer)
    return services.approval_approve(
        application=application,
        actor=approver,
        amount=Decimal("140000.00"),
        rate=Decimal("0.0588"),
        term_months=36,
    )


def expect_milestone(page: Page, number: int, state: str) -> None:
    expect(page.locator(f'[data-milestone="{number}"]')).to_have_attribute("data-state", state)


def test_customer_follows_the_timeline_reads_the_offer_and_accepts_it(
    page: Page, live_server, browser_problems, customer, dealer, reviewer, approver
):
    application = offer_waiting(customer, dealer, reviewer, approver)
    sign_in(page, live_server, customer)
    timeline_url = f"{live_server.url}/applications/{application.reference}/"

    # On a phone, in Chinese: step 3 is current and the deadline to answer is shown.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(timeline_url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_styled(page)
    for number, state in ((1, "done"), (2, "done"), (3, "current"), (4, "upcoming"), (5, "upcoming")):
        expect_milestone(page, number, state)
    expect(page.get_by_test_id("reply-by")).to_be_visible()
    expect(page.get_by_test_id("offer-waiting")).to_be_visible()
    expect(page.locator(".navbar-toggler .lp-unread-badge-mobile")).to_have_text("3")  # the menu is folded
    expect_navbar_on_one_row(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page scrolls sideways"
    screenshot(page, "timeline-375-zh")
    assert_accessible(page, "timeline-375-zh")

    # On a desktop, in English.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("reply-by")).to_contain_text("Please reply by")
    screenshot(page, "timeline-1280-en")
    assert_accessible(page, "timeline-1280-en")

    # The offer: figures, then the other schedule.
    page.get_by_role("link", name="Review the offer").click()
    expect(page.get_by_test_id("amount")).to_have_text("¥140,000.00")
    expect(page.get_by_test_id("monthly")).to_have_text("¥4,251.46")
    instalments = page.locator('[data-schedule="equal_instalment"]')
    principal = page.locator('[data-schedule="equal_principal"]')
    expect(instalments).to_be_visible()
    expect(principal).to_be_hidden()
    expect(instalments.locator("tbody tr")).to_have_count(36)
    screenshot(page, "offer-1280-en")
    assert_accessible(page, "offer-1280-en")
    page.get_by_role("tab", name="Equal principal").click()
    expect(principal).to_be_visible()
    expect(instalments).to_be_hidden()
    expect(principal.locator("tbody tr").first).to_contain_text("4,574.89")  # 3,888.89 + 686.00
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the offer scrolls sideways"
    table = principal.locator(".table-responsive")
    assert table.evaluate("el => el.scrollWidth <= el.clientWidth"), "the schedule is cut off on a phone"
    screenshot(page, "offer-375-en")
    assert_accessible(page, "offer-375-en")

    # Accept, confirm, and the timeline moves on to step 4 with an expected time.
    page.get_by_role("button", name="Accept the offer").click()
    expect(page.get_by_test_id("confirm")).to_be_visible()
    page.get_by_role("button", name="Yes, accept the offer").click()
    expect(page).to_have_url(timeline_url)
    expect(page.get_by_text("You accepted the offer. We are preparing your contract.")).to_be_visible()
    expect_milestone(page, 3, "done")
    expect_milestone(page, 4, "current")
    expect(page.get_by_test_id("expected")).to_contain_text("Expected by")
    expect_navbar_on_one_row(page)
    screenshot(page, "timeline-accepted-375-en")
    assert_accessible(page, "timeline-accepted-375-en")
    application.refresh_from_db()
    assert application.stage == Stage.CONTRACT_SIGNING

    # Back in Chinese: the timeline on a desktop and the answered offer on a phone.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_milestone(page, 4, "current")
    screenshot(page, "timeline-accepted-1280-zh")
    assert_accessible(page, "timeline-accepted-1280-zh")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{timeline_url}offer/")
    expect(page.get_by_test_id("answer")).to_have_count(0)
    screenshot(page, "offer-accepted-375-zh")
    assert_accessible(page, "offer-accepted-375-zh")

    # The home page, signed in: this application where it stands, with the way to it.
    page.goto(f"{live_server.url}/")
    card = page.locator(f'#lp-mine [data-reference="{application.reference}"]')
    expect(card.get_by_test_id("stage")).to_contain_text("合同签署")
    card.get_by_role("link").click()
    expect(page).to_have_url(timeline_url)
    page.go_back()
    screenshot(page, "home-signed-in-375-zh")
    assert_accessible(page, "home-signed-in-375-zh")

    # The list of applications and the inbox, where every stage change left a message.
    page.goto(f"{live_server.url}/applications/")
    expect(page.locator(f'[data-reference="{application.reference}"]')).to_be_visible()
    screenshot(page, "list-375-zh")
    assert_accessible(page, "list-375-zh")
    page.goto(f"{live_server.url}/inbox/")
    expect(page.get_by_test_id("notifications").locator("li")).to_have_count(4)
    screenshot(page, "inbox-375-zh")
    assert_accessible(page, "inbox-375-zh")
    page.locator("form[action$='/inbox/read/'] button").click()
    expect(page.locator(".lp-unread-badge")).to_have_count(0)


def test_anyone_tracks_with_reference_phone_and_a_texted_code_but_learns_nothing_from_a_wrong_one(
    page: Page, live_server, browser_problems, customer, dealer, reviewer, approver
):
    from common import sms

    application = offer_waiting(customer, dealer, reviewer, approver)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/track/")
    assert_accessible(page, "track-form-375-zh")

    # A wrong number: the same next page as a right one, and no text message to anyone.
    page.locator("#id_reference").fill(application.display_reference)
    page.locator("#id_phone").fill("139 0000 0000")
    page.locator("form[action='/track/'] button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/track/code/")
    expect(page.get_by_test_id("code-intro")).to_contain_text("139****0000")
    assert sms.outbox == []
    page.locator("#id_code").fill("123456")
    page.locator("form[action='/track/code/'] button[type=submit]").first.click()
    expect(page.locator("#id_code")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("[data-milestone]")).to_have_count(0)
    assert "13900000000" not in page.url and application.reference not in page.url

    page.goto(f"{live_server.url}/track/")
    page.locator("#id_reference").fill(application.display_reference)
    page.locator("#id_phone").fill(PHONE)
    page.locator("form[action='/track/'] button[type=submit]").click()
    expect(page.get_by_test_id("code-intro")).to_contain_text("138****5678")
    screenshot(page, "track-code-375-zh")
    assert_accessible(page, "track-code-375-zh")
    (sent,) = sms.outbox
    assert sent.phone == PHONE
    page.locator("#id_code").fill(sent.message.params["code"])
    page.locator("form[action='/track/code/'] button[type=submit]").first.click()

    expect_milestone(page, 3, "current")
    expect(page.get_by_test_id("masked")).to_contain_text("138****5678")
    expect(page.locator("a[href*='/offer/']")).to_have_count(0)  # read-only
    assert page.url == f"{live_server.url}/track/code/"
    screenshot(page, "track-375-zh")
    assert_accessible(page, "track-375-zh")


def test_what_we_need_and_a_delay_read_well_on_a_phone_and_a_desktop(
    page: Page, live_server, browser_problems, customer, dealer, reviewer
):
    from applications.models import Reason

    application = make_draft(customer=customer, dealer=dealer)
    for doc_type in DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW):
        services.document_upload(
            application=application,
            document_type=doc_type,
            uploaded_file=SimpleUploadedFile(f"{doc_type.code}.pdf", PDF),
            actor=customer,
        )
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    late = make_draft(customer=customer, dealer=dealer)
    for doc_type in DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW):
        services.document_upload(
            application=late,
            document_type=doc_type,
            uploaded_file=SimpleUploadedFile(f"{doc_type.code}.pdf", PDF),
            actor=customer,
        )
    services.application_submit(application=late, actor=customer)
    services.review_request_documents(
        application=application,
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
    )
    services.document_reject(
        document=application.documents.get(document_type__code="driving_licence"),
        actor=reviewer,
        reason=Reason.objects.get(code="photo_unreadable"),
    )
    # As the SLA sweep records it: the review ran past its limit, for a catalogued cause.
    LoanApplication.objects.filter(pk=late.pk).update(
        stage_entered_at=timezone.now() - timezone.timedelta(hours=26),
        stage_due_at=timezone.now() - timezone.timedelta(hours=2),
        delay_reason=Reason.objects.get(code="high_volume"),
    )
    sign_in(page, live_server, customer)

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/applications/{application.reference}/")
    needs = page.get_by_test_id("needs")
    expect(needs.locator("[data-document-type]")).to_have_count(2)
    expect(needs.locator('[data-document-type="driving_licence"] a')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "timeline-documents-375-zh")
    assert_accessible(page, "timeline-documents-375-zh")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/applications/{late.reference}/")
    expect(page.get_by_test_id("delay")).to_be_visible()
    expect(page.get_by_test_id("expected")).to_have_count(0)
    screenshot(page, "timeline-delayed-1280-zh")
    assert_accessible(page, "timeline-delayed-1280-zh")


def test_a_long_history_shows_its_latest_events_and_opens_the_rest(
    page: Page, live_server, browser_problems, customer, dealer, reviewer, approver, settings
):
    """As served, with the page body cached: the latest 20 events, a link to the rest, and a new
    event showing on the next view."""
    settings.TIMELINE_CACHE_SECONDS = 60
    application = offer_waiting(customer, dealer, reviewer, approver)
    for _ in range(25):
        services.application_event_add(
            application=application,
            kind=EventKind.DOCUMENT,
            data={"action": "uploaded", "type": "bank_statement"},
        )
    sign_in(page, live_server, customer)
    url = f"{live_server.url}/applications/{application.reference}/"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    page.get_by_role("button", name="English").click()
    history = page.get_by_test_id("history").locator("> li")
    expect(history).to_have_count(20)
    link = page.get_by_role("link", name=re.compile(r"Show \d+ earlier events"))
    expect(link).to_be_visible()
    link.scroll_into_view_if_needed()
    screenshot(page, "timeline-long-history-1280-en")
    assert_accessible(page, "timeline-long-history-1280-en")
    hidden = int(re.search(r"\d+", link.inner_text()).group())

    link.click()
    expect(history).to_have_count(20 + hidden)
    expect(page.get_by_role("link", name=re.compile("earlier event"))).to_have_count(0)

    # A new event is on the next view, cache or not.
    services.application_event_add(
        application=application, kind=EventKind.DOCUMENT, data={"action": "uploaded", "type": "id_card_front"}
    )
    page.goto(url)
    expect(history.first).to_contain_text("Document received")
    expect(page.get_by_role("link", name=re.compile(rf"Show {hidden + 1} earlier events"))).to_be_visible()


@contextmanager
def timeline_pages_built():
    """The timeline pages the live server builds in the block: none for a reload answered 304.

    (Chromium reports a response it revalidated with the status of its stored copy, 200, so the
    304 is seen where it is made; pytest-django's instrumented templates announce every render.)
    """
    built: list[str] = []

    def record(sender, template, context, **kwargs) -> None:
        if template.name == "applications/timeline/page.html":
            built.append(template.name)

    template_rendered.connect(record)
    try:
        yield built
    finally:
        template_rendered.disconnect(record)


def test_a_reload_of_an_unchanged_timeline_is_answered_304_and_its_forms_still_work(
    page: Page, live_server, browser_problems, customer, dealer, reviewer, approver, settings
):
    """A customer reloading the timeline keeps the copy their browser holds (the server answers
    304, building nothing): the same page, styled, with a language switch and a sign-out that
    still pass the CSRF check; a change made meanwhile is on the next reload."""
    settings.TIMELINE_CACHE_SECONDS = 60
    application = offer_waiting(customer, dealer, reviewer, approver)
    url = f"{live_server.url}/applications/{application.reference}/"
    # The page's ETag carries the current minute (its relative times): the clock stands still here.
    with time_machine.travel(timezone.now(), tick=False):
        sign_in(page, live_server, customer)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        first = page.get_by_test_id("history").inner_text()

        page.wait_for_load_state("networkidle")  # see below: nothing of this page left loading
        with timeline_pages_built() as built:
            page.reload()
        assert built == [], "the reload was answered 304"
        assert page.get_by_test_id("history").inner_text() == first
        # The timeline's stylesheet (a static file) applies to the browser's copy too.
        assert page.evaluate("getComputedStyle(document.querySelector('.lp-tl-grid')).display") == "grid"

        # A scan of the ID card reaches the file meanwhile; the customer reloads.
        services.application_event_add(
            application=application,
            kind=EventKind.DOCUMENT,
            data={"action": "uploaded", "type": "id_card_front"},
        )
        page.wait_for_load_state("networkidle")
        with timeline_pages_built() as built:
            page.reload()
        assert len(built) == 1, "the changed page was built"
        expect(page.get_by_test_id("history").locator("> li").first).to_contain_text("Document received")
        page.wait_for_load_state("networkidle")
        with timeline_pages_built() as built:
            page.reload()
        assert built == []
        # The language switch of the copy the 304 confirmed posts that copy's CSRF token.
        page.get_by_role("button", name="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        page.wait_for_load_state("networkidle")
        with timeline_pages_built() as built:
            page.reload()
        assert built == []
        page.locator(".lp-account-toggle").click()
        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(re.compile(r"/$|/accounts/login/"))
        # Its favicon included: leaving earlier aborts that request, which counts as a browser problem.
        page.wait_for_load_state("networkidle")
        page.goto(url)
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.wait_for_load_state("networkidle")
