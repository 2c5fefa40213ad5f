"""Applying for a loan, the end of it: drafts left and resumed later, the review page with the
monthly payment, a submission that runs the pre-check, and who may see a draft at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from applications.choices import EventKind, Powertrain, Stage
from applications.models import LoanApplication
from applications.money import annuity_payment
from common.money import yuan

from .factories import (
    APPLY_START,
    APPLY_TODAY,
    apply_review_url,
    apply_step_url,
    complete_draft,
    draft_with_vehicle,
    make_draft,
    start_draft,
    valid_id_number,
    vehicle_data,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(APPLY_TODAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def english(client):
    """The messages are checked in English; one test checks that Chinese is the default."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


# --- Drafts: leave and come back ----------------------------------------------------------------


def test_save_and_finish_later_keeps_the_step_and_returns_to_the_start_page(signed_in, dealer):
    application = start_draft(signed_in)

    response = signed_in.post(
        apply_step_url(application, "vehicle"), {**vehicle_data(dealer), "save_and_leave": "1"}, follow=True
    )

    assertRedirects(response, APPLY_START)
    assertContains(response, f"Your draft {application.display_reference} is saved")
    application.refresh_from_db()
    assert application.vehicle_model == "帕萨特"


def test_a_draft_left_after_step_two_is_resumed_with_its_data_filled_in(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)
    signed_in.get("/")  # the customer leaves …

    start = signed_in.get(APPLY_START)  # … and comes back to apply

    assertContains(start, "Continue your draft")
    assertContains(start, application.display_reference)
    assertContains(start, f'href="{apply_step_url(application, "loan")}"')  # the first step not done yet

    response = signed_in.get(apply_step_url(application, "vehicle"))
    form = response.context["form"]
    assert form.initial == {
        "dealer": dealer.pk,
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": Decimal("200000.00"),
        "powertrain": Powertrain.FUEL,
    }
    assertContains(response, 'value="帕萨特"')
    assertContains(response, 'value="200000.00"')


def test_the_continue_link_counts_the_drafts_in_one_query(
    signed_in, customer, dealer, django_assert_num_queries
):
    from applications.selectors import customer_drafts

    for _ in range(3):
        draft_with_vehicle(signed_in, dealer)

    # 1: the drafts, their applicants (joined) and consents (counted).
    with django_assert_num_queries(1):
        drafts = list(customer_drafts(user=customer))
        assert [hasattr(d, "applicant") and d.consent_count for d in drafts] == [0, 0, 0]


def test_the_start_page_needs_a_fixed_number_of_queries_however_many_drafts(
    signed_in, dealer, django_assert_num_queries
):
    draft_with_vehicle(signed_in, dealer)
    # 1 user, 2 the user's own permissions, 3 their groups' permissions, 4 the drafts (applicants
    # joined, consents counted), 5 the unread count in the navbar's inbox link. (The session comes
    # from the cache.)
    with django_assert_num_queries(5):
        signed_in.get(APPLY_START)
    draft_with_vehicle(signed_in, dealer)
    draft_with_vehicle(signed_in, dealer)
    with django_assert_num_queries(5):
        signed_in.get(APPLY_START)


# --- Review and submission ----------------------------------------------------------------------


def test_the_review_page_sums_up_every_step_with_masked_personal_data(signed_in, dealer):
    application = complete_draft(signed_in, dealer)

    response = signed_in.get(apply_review_url(application))

    for text in (
        "张伟",
        "110101********",
        "138****5678",
        "大众 帕萨特",
        "¥200,000.00",
        "¥60,000.00",
        "¥140,000.00",
    ):
        assertContains(response, text)
    assertContains(response, "36 months")
    assertNotContains(response, valid_id_number())
    for step in ("personal", "vehicle", "loan", "consent"):
        assertContains(response, f'href="{apply_step_url(application, step)}"')
    assertContains(response, "Submit application")


def test_submitting_runs_the_precheck_and_lands_on_the_timeline_awaiting_documents(
    signed_in, dealer, customer, django_capture_on_commit_callbacks
):
    application = complete_draft(signed_in, dealer)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in.post(apply_review_url(application))

    assert len(callbacks) >= 1  # the pre-check was queued after the commit, not before
    assertRedirects(
        response,
        reverse("applications:detail", kwargs={"reference": application.reference}),
        fetch_redirect_response=False,
    )
    application.refresh_from_db()
    assert application.stage == Stage.AWAITING_DOCUMENTS  # nothing uploaded yet
    assert list(application.events.filter(kind=EventKind.TRANSITION).values_list("to_stage", flat=True)) == [
        Stage.DRAFT,
        Stage.SUBMITTED,
        Stage.CREDIT_CHECK,
        Stage.AWAITING_DOCUMENTS,
    ]
    assert application.events.get(to_stage=Stage.SUBMITTED).actor == customer


def test_an_incomplete_draft_cannot_be_submitted(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    page = signed_in.get(apply_review_url(application))
    assertContains(page, "Continue where you left off")
    assertNotContains(page, "Submit application")
    response = signed_in.post(apply_review_url(application), follow=True)

    assertContains(response, "The application is not complete")
    application.refresh_from_db()
    assert application.stage == Stage.DRAFT


def test_a_submitted_application_cannot_be_edited(signed_in, dealer):
    application = complete_draft(signed_in, dealer)
    signed_in.post(apply_review_url(application))

    response = signed_in.post(apply_step_url(application, "vehicle"), vehicle_data(dealer, vehicle_price="1"))

    assertRedirects(
        response,
        reverse("applications:detail", kwargs={"reference": application.reference}),
        fetch_redirect_response=False,
    )
    application.refresh_from_db()
    assert application.vehicle_price == Decimal("200000.00")


# --- Who may see what ---------------------------------------------------------------------------


def urls_of(application: LoanApplication) -> list[str]:
    return [apply_step_url(application, step) for step in ("personal", "vehicle", "loan", "consent")] + [
        apply_review_url(application)
    ]


def test_another_customer_gets_404_on_every_draft_url(client, draft, other_customer):
    client.force_login(other_customer)
    for url in urls_of(draft):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


def test_anonymous_visitors_are_sent_to_sign_in_on_every_url(client, draft):
    for url in [APPLY_START, *urls_of(draft)]:
        response = client.get(url)
        assertRedirects(response, f"{reverse('accounts:login')}?next={url}", fetch_redirect_response=False)


def test_staff_cannot_apply(client, reviewer, draft):
    client.force_login(reviewer)
    assert client.get(APPLY_START).status_code == 403
    assert client.get(apply_step_url(draft, "vehicle")).status_code == 403


def test_an_unknown_step_is_404(signed_in, draft):
    assert signed_in.get(f"/applications/{draft.reference}/edit/payment/").status_code == 404


def test_the_review_page_needs_a_fixed_number_of_queries(signed_in, dealer, django_assert_num_queries):
    application = complete_draft(signed_in, dealer)
    # 1 user, 2-3 the user's own and group permissions, 4 the application (applicant, dealer and
    # product joined), 5 its consents, 6 the consent kinds (is_complete); the document checklist:
    # 7 types review requires, 8 the reviewer's requests, 9 documents with rejection reasons,
    # 10-12 the types still owed (documents on file, required types, requests); 13 the unread
    # count in the navbar's inbox link. (The session comes from the cache.)
    with django_assert_num_queries(13):
        signed_in.get(apply_review_url(application))


def test_the_review_shows_the_monthly_payment_for_the_chosen_amount_term_and_product(
    signed_in, customer, dealer
):
    application = make_draft(
        customer=customer, dealer=dealer, requested_amount=Decimal("140000"), term_months=36
    )
    low, high = application.product.rate_range_for(application.powertrain)
    assert low < high  # the standard product's rate is a range until approval

    response = signed_in.get(apply_review_url(application))

    estimate = response.context["monthly"]
    assert estimate.low == annuity_payment(Decimal("140000"), low, 36)
    assert estimate.high == annuity_payment(Decimal("140000"), high, 36)
    assert estimate.low < estimate.high
    assertContains(response, f"{yuan(estimate.low)} to {yuan(estimate.high)}")
    assertContains(response, "The rate is set when your application is approved.")


def test_the_monthly_payment_follows_a_changed_term(signed_in, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, term_months=36)
    three_years = signed_in.get(apply_review_url(application)).context["monthly"]

    application.term_months = 24
    application.save(update_fields=["term_months"])
    two_years = signed_in.get(apply_review_url(application)).context["monthly"]

    assert two_years.low > three_years.low  # a shorter loan costs more a month


def test_the_monthly_payment_is_in_chinese_for_a_chinese_visitor(signed_in, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = signed_in.get(apply_review_url(application))

    assertContains(response, "预计月供")
    assertContains(response, "最终利率在您的申请获批时确定。")
