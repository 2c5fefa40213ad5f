"""The customer's timeline and list: who may see them, what they say, and what they cost."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.choices import Stage
from applications.models import CalendarDay, LoanApplication, Reason
from applications.selectors import application_timeline, documents_needed

from .factories import (
    REVIEW_DOCUMENTS,
    at_offer,
    awaiting_documents,
    detail_url,
    grow_history,
    in_review,
    make_draft,
    record_stays,
    text_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the stage medians (eta) and the tracking rate limits live there
    yield
    cache.clear()


# --- Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [("detail", "get"), ("withdraw", "get"), ("withdraw", "post"), ("offer", "get"), ("offer", "post")],
)
def test_another_customers_application_answers_404(client, customer, other_customer, dealer, name, method):
    application = in_review(customer, dealer)
    client.force_login(other_customer)
    response = getattr(client, method)(reverse(f"applications:{name}", args=[application.reference]))
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW


def test_a_reference_that_does_not_exist_answers_404_too(client, customer):
    client.force_login(customer)
    assert client.get(reverse("applications:detail", args=["ABCDEFGHJK"])).status_code == 404


@pytest.mark.parametrize("name", ["detail", "withdraw", "offer"])
def test_anonymous_visitors_are_sent_to_sign_in(client, customer, dealer, name):
    application = in_review(customer, dealer)
    url = reverse(f"applications:{name}", args=[application.reference])
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert client.get(reverse("applications:list")).url.startswith(reverse("accounts:login"))


def test_the_owner_sees_the_timeline_also_by_the_reference_as_printed(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)
    assert client.get(detail_url(application)).status_code == 200
    printed = application.display_reference.lower()  # "abcde-fghjk" as typed into the address bar
    assert client.get(reverse("applications:detail", args=[printed])).status_code == 200


def test_staff_see_no_customer_timeline(client, customer, reviewer, dealer):
    application = in_review(customer, dealer)
    client.force_login(reviewer)
    response = client.get(detail_url(application))
    # The 403 page sends them to the back office (test_error_pages); nothing of the file shows.
    assert response.status_code == 403
    assert application.display_reference not in text_of(response)


def test_the_list_shows_only_the_customers_own_applications(client, customer, other_customer, dealer):
    mine = in_review(customer, dealer)
    theirs = in_review(other_customer, dealer)
    client.force_login(customer)
    response = client.get(reverse("applications:list"))
    assert response.status_code == 200
    assert mine.display_reference in response.content.decode()
    assert theirs.display_reference not in response.content.decode()


# --- What the timeline says ---------------------------------------------------------------------


def test_review_stage_shows_milestone_two_current_with_an_expected_time(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)
    with timezone.override("Asia/Shanghai"):
        response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    states = [m.state for m in response.context["timeline"].milestones]
    assert states == ["done", "current", "upcoming", "upcoming", "upcoming"]
    page = text_of(response)
    assert "Credit review" in page  # the stage in plain words
    # No history yet: the time limit, 24 working hours, stands in (its due time was stored on entry).
    due = timezone.localtime(application.stage_due_at)
    assert re.search(
        rf"Expected by \w{{3}} (\d+ \w{{3}} )?{due:%H:%M}, about \d+ (minutes?|hours?|days)", page
    )
    # No history yet: the SLA stands in, and the page says so instead of inventing precision.
    assert "Based on the time limit for this step: there are too few recent applications" in page
    assert re.search(r"Expected disbursement by \w{3} (\d+ \w{3} )?\d\d:\d\d\.", page)
    assert "For some steps there are too few recent applications to estimate" in page
    assert 'aria-valuenow="30"' in response.content.decode()  # one done, inside the second
    assert "What we need from you" not in page  # nothing is needed


def test_the_expected_time_is_the_median_stay_of_recent_applications_with_the_same_product(
    client, customer, dealer
):
    tuesday_9am = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    hours = [4] * 10 + [6] * 10  # the median sits half way between the 4 h and 6 h stays: 5 h
    record_stays(
        customer=customer,
        dealer=dealer,
        stage=Stage.UNDER_REVIEW,
        durations=[h * dt.timedelta(hours=1) for h in hours],
        # Thursday 26 November 15:00 in Shanghai: every stay within working hours.
        left_at=tuesday_9am - dt.timedelta(days=5) + dt.timedelta(hours=6),
    )
    application = in_review(customer, dealer, now=tuesday_9am)
    client.force_login(customer)

    with time_machine.travel(tuesday_9am, tick=False):
        page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Expected by Tue 14:00, about 5 hours" in page
    assert "Based on how long this step took for recent applications with your loan product." in page


# --- Expected dates on the working calendar, with the clock moved ----------------------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def cst(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of December 2026 in Shanghai."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def reviews_of_two_working_hours(customer, dealer):
    """Twenty recent credit reviews of the standard product, Monday 30 November 09:00 to 11:00."""
    record_stays(
        customer=customer,
        dealer=dealer,
        stage=Stage.UNDER_REVIEW,
        durations=[dt.timedelta(hours=2)] * 20,
        left_at=dt.datetime(2026, 11, 30, 11, tzinfo=SHANGHAI),
    )


def expected_on_friday_evening(client, customer, dealer, *, language="en") -> str:
    """The timeline of a review entered on Friday 4 December at 17:00, seen at 17:30."""
    reviews_of_two_working_hours(customer, dealer)
    application = in_review(customer, dealer, now=cst(4, 17))
    client.force_login(customer)
    with time_machine.travel(cst(4, 17, 30), tick=False):
        return text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE=language))


def test_a_review_entered_on_friday_evening_is_expected_on_monday_in_working_hours(client, customer, dealer):
    page = expected_on_friday_evening(client, customer, dealer)

    # Two working hours: one on Friday, one on Monday. Not "Sat 14:48, about 9 hours".
    assert "Expected by Mon 10:00, about 3 days" in page
    assert "Based on how long this step took for recent applications with your loan product." in page


def test_a_holiday_week_is_skipped_by_the_expected_time(client, customer, dealer):
    for day in range(7, 12):
        CalendarDay.objects.create(date=dt.date(2026, 12, day), is_working=False, note="synthetic holiday")

    page = expected_on_friday_evening(client, customer, dealer)

    assert "Expected by Mon 14 Dec 10:00" in page


def test_a_make_up_saturday_counts_for_the_expected_time(client, customer, dealer):
    CalendarDay.objects.create(date=dt.date(2026, 12, 5), is_working=True, note="调休 synthetic")

    page = expected_on_friday_evening(client, customer, dealer)

    assert "Expected by Sat 10:00, about 17 hours" in page


def test_the_expected_times_read_in_chinese_with_chinese_punctuation(client, customer, dealer):
    page = expected_on_friday_evening(client, customer, dealer, language="zh-hans")

    assert "预计 周一 10:00 前完成，约 3 天" in page
    assert re.search(r"预计 (\d+月\d+日 )?周. \d\d:\d\d 前放款。", page)
    assert "由我们办理的步骤只计工作时间（不含周末和法定节假日，含调休上班日）" in page


def test_waiting_for_documents_the_page_says_when_if_uploaded_today(client, customer, dealer, reviewer):
    with time_machine.travel(cst(7, 16), tick=False):
        application = awaiting_documents(customer, dealer, reviewer)
        client.force_login(customer)
        page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
        chinese = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="zh-hans"))

    assert re.search(
        r"If you upload the documents today, expected disbursement by \w{3} .*?\d\d:\d\d\.", page
    )
    assert "Please reply by" in page  # the customer's own deadline is still there
    # No history: every step counts its time limit, and the page says so.
    assert "For some steps there are too few recent applications to estimate" in page
    assert "如您今天上传材料，预计" in chinese


def test_the_offer_page_says_when_if_accepted_today(client, customer, dealer, reviewer, approver):
    with time_machine.travel(cst(7, 16), tick=False):
        application = at_offer(customer, dealer, reviewer, approver)
        client.force_login(customer)
        page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))

    assert "If you accept the offer today, expected disbursement by" in page


def test_a_disbursed_file_has_no_expected_dates(client, customer, dealer, reviewer, approver, cast):
    application = services.offer_accept(
        application=at_offer(customer, dealer, reviewer, approver), actor=customer
    )
    application = services.contract_mark_signed(application=application, actor=cast["operations"])
    application = services.lien_mark_registered(application=application, actor=cast["operations"])
    application = services.disbursement_release(application=application, actor=cast["finance"])
    client.force_login(customer)

    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Expected" not in page and "expected disbursement" not in page


def test_history_is_in_customer_words_without_staff_names_or_notes(
    client, customer, dealer, reviewer, make_user
):
    reviewer.first_name, reviewer.last_name = "Reviewer", "Lin"
    reviewer.save()
    application = awaiting_documents(customer, dealer, reviewer)
    client.force_login(customer)
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "The credit review needs more documents from you" in page
    assert "Bank statement — We need more proof of income" in page
    assert "Pre-check passed: your application went to credit review" in page
    assert "Application submitted" in page
    assert "irregular" not in page
    assert "Lin" not in page and "reviewer" not in page.lower()


def test_missing_and_rejected_documents_are_listed_with_reasons_and_upload_buttons(
    client, customer, dealer, reviewer
):
    application = awaiting_documents(customer, dealer, reviewer)
    licence = application.documents.get(document_type__code="driving_licence")
    services.document_reject(
        document=licence, actor=reviewer, reason=Reason.objects.get(code="photo_unreadable")
    )
    client.force_login(customer)

    response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")

    needs = response.context["timeline"].needs
    assert [(n.document_type.code, n.reason.code, n.rejected) for n in needs] == [
        ("bank_statement", "more_income_proof", False),
        ("driving_licence", "photo_unreadable", True),
    ]
    page = text_of(response)
    assert "What we need from you" in page
    assert "Not accepted: The photo is unreadable" in page
    assert "Please retake it in daylight" in page
    assert "Document not accepted: Driving licence" in page  # and in the history
    html = response.content.decode()
    for code in ("bank_statement", "driving_licence"):
        assert reverse("applications:document_upload", args=[application.reference, code]) in html
    assert "Please reply by" in page  # a customer stage shows the customer's deadline


def test_the_offer_waiting_is_what_we_need(client, customer, dealer, reviewer, approver):
    application = at_offer(customer, dealer, reviewer, approver)
    client.force_login(customer)
    response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    states = [m.state for m in response.context["timeline"].milestones]
    assert states == ["done", "done", "current", "upcoming", "upcoming"]
    page = text_of(response)
    assert "¥140,000.00 at 5.88% a year over 36 months: about ¥4,251.46 a month." in page
    assert reverse("applications:offer", args=[application.reference]) in response.content.decode()
    assert "Approved: your offer is ready" in page


def test_a_late_stage_explains_the_recorded_cause_and_what_happens_next(client, customer, dealer):
    entered = timezone.now() - dt.timedelta(days=10)
    application = in_review(customer, dealer, now=entered)  # review's limit is 24 working hours
    LoanApplication.objects.filter(pk=application.pk).update(
        delay_reason=Reason.objects.get(code="high_volume")  # as the SLA sweep / a manager records it
    )
    client.force_login(customer)

    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Delayed: We are handling more applications than usual" in page
    assert "We have added staff and will get to it soon; you need do nothing." in page
    assert "It was due by" in page
    assert "Expected by" not in page  # past its limit there is no estimate to give


def test_a_late_stage_without_a_recorded_cause_says_it_is_taking_longer_than_usual(client, customer, dealer):
    application = in_review(customer, dealer, now=timezone.now() - dt.timedelta(days=10))
    client.force_login(customer)
    page = text_of(client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en"))
    assert "This step is taking longer than usual" in page
    assert "We are working on it and will let you know as soon as it moves on." in page


def test_a_rejection_shows_the_catalogue_reason_and_remedy(client, customer, dealer, reviewer):
    application = services.review_reject(
        application=in_review(customer, dealer),
        actor=reviewer,
        reason=Reason.objects.get(code="dti_too_high"),
        note="internal: DTI 61 %",
    )
    client.force_login(customer)
    response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    states = [m.state for m in response.context["timeline"].milestones]
    assert states == ["done", "stopped", "not_reached", "not_reached", "not_reached"]
    page = text_of(response)
    assert "Monthly debts are too high for the income" in page
    assert "You may apply again with a larger down payment" in page
    assert "61" not in page
    assert "Withdraw this application" not in page


def test_a_draft_continues_in_the_application_form(client, customer, dealer):
    draft = make_draft(customer=customer, dealer=dealer)
    client.force_login(customer)
    response = client.get(detail_url(draft))
    assert response.status_code == 302
    assert response.url.startswith(f"/applications/{draft.reference}/")
    assert response.url != detail_url(draft)


def test_documents_needed_agrees_with_the_models_rule(customer, dealer, reviewer):
    application = awaiting_documents(customer, dealer, reviewer)
    services.document_reject(
        document=application.documents.get(document_type__code="income_proof"),
        actor=reviewer,
        reason=Reason.objects.get(code="wrong_document"),
    )
    timeline = application_timeline(application=application)
    required = [t for t in timeline.document_types.values() if t.required_for_review]
    needs = documents_needed(
        required=required, documents=timeline.documents, requests=list(application.document_requests.all())
    )
    assert [n.document_type for n in needs] == application.missing_document_types()
    assert [n.document_type.code for n in needs] == ["bank_statement", "income_proof"]


# --- Withdrawing --------------------------------------------------------------------------------


def test_withdrawing_asks_first_then_closes_the_application_with_an_event(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)
    url = reverse("applications:withdraw", args=[application.reference])

    confirm = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert confirm.status_code == 200
    assert "Withdraw the application?" in text_of(confirm)
    application.refresh_from_db()
    assert application.stage == Stage.UNDER_REVIEW

    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    application.refresh_from_db()
    assert application.stage == Stage.WITHDRAWN
    assert application.events.last().transition == "withdraw"
    assert "Your application has been withdrawn." in text_of(response)


def test_an_offer_cannot_be_withdrawn_only_declined(client, customer, dealer, reviewer, approver):
    application = at_offer(customer, dealer, reviewer, approver)
    client.force_login(customer)
    response = client.post(
        reverse("applications:withdraw", args=[application.reference]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "This action is not possible while the application is at" in text_of(response)
    application.refresh_from_db()
    assert application.stage == Stage.OFFER_PENDING


# --- Query counts -------------------------------------------------------------------------------


def test_the_timeline_costs_the_same_queries_for_a_short_and_a_long_history(
    client, customer, dealer, django_assert_num_queries
):
    short = in_review(customer, dealer, documents=("id_card_front",))
    long = in_review(customer, dealer, documents=REVIEW_DOCUMENTS)
    grow_history(long, customer, documents=4, events=18)
    assert short.events.count() <= 5 and short.documents.count() == 1
    assert long.events.count() >= 30 and long.documents.count() == 8
    client.force_login(customer)

    for application in (short, long):
        cache.clear()  # nothing cached: the session, the configuration, the prediction's figures
        # Every time: user, unread count (navbar); the application with applicant, product and
        # delay reason; its customer-visible events (the stage changes and the latest 20); the
        # documents with type and rejection reason; the document requests.
        # With the cache empty, also: the session (then cached); the configuration (stage
        # definitions, document types flagged when review needs them, reasons: three queries,
        # then cached); the quantiles of recent stays for every stage and product (prediction:
        # the stays, then the working calendar's hours and days, which the stays are measured on
        # and the expected dates placed on: three queries, which beat keeps cached).
        with django_assert_num_queries(13):
            response = client.get(detail_url(application))
        assert response.status_code == 200
        with django_assert_num_queries(6):  # the same page again: the rest comes from the cache
            client.get(detail_url(application))


def test_a_long_history_shows_its_latest_entries_and_the_rest_on_request(
    client, customer, dealer, django_assert_num_queries
):
    from applications.views.timeline import HISTORY_SHOWN

    application = in_review(customer, dealer, documents=REVIEW_DOCUMENTS)
    grow_history(application, customer, documents=0, events=30)
    client.force_login(customer)
    cache.clear()

    response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")
    shown = response.context["history"]
    hidden = response.context["history_hidden"]
    assert len(shown) == HISTORY_SHOWN and hidden > 0
    assert f"Show {hidden} earlier events" in text_of(response)
    assert shown[0].at >= shown[-1].at  # newest first: the latest entries are the ones shown

    with django_assert_num_queries(6):  # the same queries as the short page (the rest cached)
        response = client.get(detail_url(application) + "?history=all", HTTP_ACCEPT_LANGUAGE="en")
    assert len(response.context["history"]) == HISTORY_SHOWN + hidden
    assert response.context["history_hidden"] == 0
    assert "earlier event" not in text_of(response)


def test_the_list_costs_the_same_queries_for_one_and_five_applications(
    client, customer, dealer, django_assert_num_queries
):
    client.force_login(customer)
    in_review(customer, dealer)
    # user, unread count; the applications; the configuration, the first time only (stage
    # definitions, document types, reasons: then cached). The session comes from the cache.
    with django_assert_num_queries(6):
        assert client.get(reverse("applications:list")).status_code == 200
    for _ in range(4):
        in_review(customer, dealer)
    with django_assert_num_queries(3):
        response = client.get(reverse("applications:list"))
    assert len(response.context["cards"]) == 5
