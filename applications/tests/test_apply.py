"""Applying for a loan: four steps saved one by one, clear messages next to the field, nothing saved
from an invalid step, drafts resumed later, and a submission that runs the pre-check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from applications import services
from applications.choices import EventKind, Powertrain, Stage
from applications.models import Applicant, Consent, LoanApplication, LoanProduct, StageEvent
from applications.money import annuity_payment
from applications.services import TransitionRefused
from common.money import yuan

from .factories import DealerFactory, make_draft, valid_id_number

pytestmark = pytest.mark.django_db

# A fixed "today" (Beijing time) so the age rules do not depend on when the suite runs.
TODAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def english(client):
    """The messages are checked in English; one test checks that Chinese is the default."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def personal(**changes) -> dict:
    return {
        "full_name": "张伟",
        "id_number": valid_id_number(),  # born 7 March 1990
        "phone": "138 1234 5678",
        "employment": "employed",
        "employer": "北京某科技有限公司",
        "monthly_income": "25000",
        "monthly_debt": "2000",
        **changes,
    }


def vehicle(dealer, **changes) -> dict:
    return {
        "dealer": dealer.pk,
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": "200000",
        "powertrain": Powertrain.FUEL,
        **changes,
    }


def loan(product_code: str = "standard", **changes) -> dict:
    return {
        "product": LoanProduct.objects.get(code=product_code).pk,
        "down_payment": "60000",
        "requested_amount": "140000",
        "term_months": "36",
        **changes,
    }


CONSENTS = {"credit_check": "on", "privacy_notice": "on"}


def step_url(application: LoanApplication, step: str) -> str:
    return reverse("applications:apply_step", args=[application.reference, step])


def review_url(application: LoanApplication) -> str:
    return reverse("applications:apply_review", args=[application.reference])


START = "/applications/new/"


def start_draft(client, **changes) -> LoanApplication:
    response = client.post(START, personal(**changes))
    application = LoanApplication.objects.latest("created_at")
    assertRedirects(response, step_url(application, "vehicle"))
    return application


def draft_with_vehicle(client, dealer, **vehicle_changes) -> LoanApplication:
    application = start_draft(client)
    response = client.post(step_url(application, "vehicle"), vehicle(dealer, **vehicle_changes))
    assertRedirects(response, step_url(application, "loan"))
    application.refresh_from_db()
    return application


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


# --- Step 1: personal details -------------------------------------------------------------------


def test_the_start_page_shows_step_one_with_the_step_indicator(signed_in):
    response = signed_in.get(START)

    assert response.status_code == 200
    assertContains(response, 'aria-current="step"')
    for short in ("Personal", "Vehicle", "Loan", "Consent"):
        assertContains(response, short)
    assertContains(response, "Step 1 of 4: Personal details")
    assertContains(response, 'name="id_number"')


def test_valid_personal_details_create_a_draft_and_lead_to_the_vehicle_step(signed_in, customer):
    application = start_draft(signed_in)

    assert (application.customer, application.created_by, application.stage) == (
        customer,
        customer,
        Stage.DRAFT,
    )
    assert application.dealer is None and application.product is None  # later steps
    applicant = application.applicant
    assert (applicant.full_name, applicant.phone, applicant.birth_date) == (
        "张伟",
        "13812345678",
        dt.date(1990, 3, 7),
    )
    assert applicant.monthly_income == Decimal("25000")
    assert list(application.events.values_list("transition", "to_stage")) == [("create", Stage.DRAFT)]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"id_number": valid_id_number()[:17] + ("1" if valid_id_number()[17] != "1" else "2")},
            "id_number",
            "check digit is wrong",
            id="id-checksum",
        ),
        pytest.param({"id_number": "11010119900307"}, "id_number", "18 characters", id="id-length"),
        pytest.param(
            {"id_number": valid_id_number(birth="20100101")}, "id_number", "at least 18", id="under-18"
        ),
        pytest.param(
            {"id_number": valid_id_number(birth="19580101")},
            "id_number",
            "younger than 65",
            id="too-old-for-any-term",
        ),
        pytest.param({"phone": "1381234"}, "phone", "11 digits starting with 1", id="phone"),
        pytest.param({"monthly_income": "-1"}, "monthly_income", "greater than or equal to 0", id="income"),
        pytest.param({"full_name": ""}, "full_name", "This field is required", id="name"),
    ],
)
def test_invalid_personal_details_are_shown_next_to_the_field_and_nothing_is_saved(
    signed_in, changes, field, message
):
    response = signed_in.post(START, personal(**changes))

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    # Rendered beside the field by crispy-forms, not only at the top of the page.
    assertContains(response, f'id="error_1_id_{field}"')
    assert LoanApplication.objects.count() == 0
    assert Applicant.objects.count() == 0
    assert StageEvent.objects.count() == 0


def test_messages_are_in_chinese_for_a_chinese_visitor(signed_in):
    del signed_in.cookies[settings.LANGUAGE_COOKIE_NAME]
    with translation.override("zh-hans"):
        response = signed_in.post(START, personal(full_name=""))

    assertContains(response, '<html lang="zh-hans">')
    assertContains(response, "这个字段是必填项。")


def test_editing_personal_details_with_a_wrong_check_digit_keeps_the_saved_ones(signed_in):
    application = start_draft(signed_in)
    good = valid_id_number()
    bad = good[:17] + ("1" if good[17] != "1" else "2")

    response = signed_in.post(step_url(application, "personal"), personal(id_number=bad, full_name="李娜"))

    assert "check digit" in field_errors(response, "id_number")[0]
    applicant = Applicant.objects.get(application=application)
    assert (applicant.full_name, applicant.id_number) == ("张伟", good)


def test_the_personal_step_never_shows_the_saved_id_or_phone_number_again(signed_in):
    application = start_draft(signed_in)

    response = signed_in.get(step_url(application, "personal"))

    assertContains(response, 'value="张伟"')
    assertNotContains(response, valid_id_number())
    assertNotContains(response, "13812345678")
    assertContains(response, "110101********")  # the masked hint
    assertContains(response, "138****5678")


def test_left_blank_the_id_phone_and_income_keep_the_values_on_file(signed_in):
    application = start_draft(signed_in)

    response = signed_in.post(
        step_url(application, "personal"),
        personal(full_name="张伟伟", id_number="", phone="", monthly_income=""),
    )

    assertRedirects(response, step_url(application, "vehicle"))
    applicant = Applicant.objects.get(application=application)
    assert (applicant.full_name, applicant.id_number, applicant.phone) == (
        "张伟伟",
        valid_id_number(),
        "13812345678",
    )
    assert applicant.monthly_income == Decimal("25000")


# --- Step 2: vehicle and dealer -----------------------------------------------------------------


def test_the_dealer_is_chosen_from_a_list_with_the_region(signed_in, dealer):
    DealerFactory(code="sh-1", name="上海浦东汽车城", region="上海")
    application = start_draft(signed_in)

    response = signed_in.get(step_url(application, "vehicle"))

    assertContains(
        response, f'<option value="{dealer.pk}">{dealer.name} · {dealer.region}</option>', html=True
    )
    assertContains(response, "上海浦东汽车城 · 上海")


def test_a_valid_vehicle_step_is_saved(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    assert (application.dealer, application.vehicle_make, application.vehicle_model) == (
        dealer,
        "大众",
        "帕萨特",
    )
    assert (application.vehicle_price, application.powertrain) == (Decimal("200000.00"), Powertrain.FUEL)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"vehicle_price": "0"}, "vehicle_price", "greater than or equal to 0.01"),
        ({"vehicle_make": ""}, "vehicle_make", "This field is required"),
        ({"powertrain": "diesel"}, "powertrain", "Select a valid choice"),
        ({"dealer": ""}, "dealer", "This field is required"),
    ],
)
def test_an_invalid_vehicle_step_saves_nothing(signed_in, dealer, changes, field, message):
    application = start_draft(signed_in)

    response = signed_in.post(step_url(application, "vehicle"), {**vehicle(dealer), **changes})

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field))
    application.refresh_from_db()
    assert (application.dealer_id, application.vehicle_make, application.vehicle_price) == (None, "", None)


def test_the_loan_step_waits_for_the_vehicle(signed_in):
    application = start_draft(signed_in)

    response = signed_in.get(step_url(application, "loan"))

    assertRedirects(response, step_url(application, "vehicle"))


# --- Step 3: the loan ---------------------------------------------------------------------------


def test_a_valid_loan_step_is_saved(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.post(step_url(application, "loan"), loan())

    assertRedirects(response, step_url(application, "consent"))
    application.refresh_from_db()
    assert application.product.code == "standard"
    assert (application.down_payment, application.requested_amount, application.term_months) == (
        Decimal("60000.00"),
        Decimal("140000.00"),
        36,
    )


@pytest.mark.parametrize(
    ("powertrain", "changes", "field", "message"),
    [
        pytest.param(
            Powertrain.FUEL,
            {"down_payment": "39999.99", "requested_amount": "100000"},
            "down_payment",
            "at least ¥40,000.00 (20% of the vehicle price)",
            id="fuel-under-20%",
        ),
        pytest.param(
            Powertrain.BATTERY_ELECTRIC,
            {"down_payment": "29999", "requested_amount": "100000"},
            "down_payment",
            "at least ¥30,000.00 (15% of the vehicle price)",
            id="new-energy-under-15%",
        ),
        pytest.param(
            Powertrain.FUEL,
            {"down_payment": "60000", "requested_amount": "140000.01"},
            "requested_amount",
            "at most the price minus the down payment: ¥140,000.00",
            id="amount-above-price-minus-down-payment",
        ),
        pytest.param(
            Powertrain.FUEL,
            {"requested_amount": "10000"},
            "requested_amount",
            "lends between ¥20,000.00 and ¥1,000,000.00",
            id="amount-below-product-minimum",
        ),
        pytest.param(
            Powertrain.FUEL,
            {"term_months": "72"},
            "term_months",
            "offers terms of 12, 24, 36, 48, 60 months",
            id="term-not-offered",
        ),
        pytest.param(
            Powertrain.FUEL,
            {"product": "green_nev"},
            "product",
            "only for new-energy vehicles",
            id="green-product-for-a-fuel-car",
        ),
        pytest.param(
            Powertrain.FUEL,
            {"down_payment": "250000"},
            "down_payment",
            "cannot be more than the vehicle price, ¥200,000.00",
            id="down-payment-above-price",
        ),
    ],
)
def test_an_invalid_loan_step_shows_the_rule_next_to_the_field_and_saves_nothing(
    signed_in, dealer, powertrain, changes, field, message
):
    application = draft_with_vehicle(signed_in, dealer, powertrain=powertrain)
    if changes.get("product"):
        changes["product"] = LoanProduct.objects.get(code=changes["product"]).pk

    response = signed_in.post(step_url(application, "loan"), loan(**changes))

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    assertContains(response, f'id="error_1_id_{field}"')
    application.refresh_from_db()
    assert application.product_id is None
    assert (application.down_payment, application.requested_amount, application.term_months) == (
        None,
        None,
        None,
    )


def test_the_age_at_the_end_of_the_loan_must_be_65_or_less(signed_in, dealer):
    application = start_draft(signed_in, id_number=valid_id_number(birth="19650101"))  # 61 today
    signed_in.post(step_url(application, "vehicle"), vehicle(dealer))

    too_long = signed_in.post(step_url(application, "loan"), loan(term_months="60"))  # 66 at the end

    assert field_errors(too_long, "term_months") == [
        "You would be 66 when this loan ends; the limit is 65. Choose a shorter term."
    ]
    application.refresh_from_db()
    assert application.term_months is None

    short_enough = signed_in.post(step_url(application, "loan"), loan(term_months="36"))  # 64 at the end

    assertRedirects(short_enough, step_url(application, "consent"))


def test_the_loan_step_offers_only_products_suited_to_the_powertrain_with_the_minimum_down_payment(
    signed_in, dealer
):
    fuel = draft_with_vehicle(signed_in, dealer)
    response = signed_in.get(step_url(fuel, "loan"))
    assertContains(response, "Standard car loan — minimum down payment ¥40,000.00 (20%)")
    assertNotContains(response, "Green new-energy loan")

    electric = draft_with_vehicle(signed_in, dealer, powertrain=Powertrain.BATTERY_ELECTRIC)
    response = signed_in.get(step_url(electric, "loan"))
    assertContains(response, "Standard car loan — minimum down payment ¥30,000.00 (15%)")
    assertContains(response, "Green new-energy loan — minimum down payment ¥30,000.00 (15%)")


def test_a_vehicle_change_that_no_longer_fits_the_loan_clears_the_loan(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer, powertrain=Powertrain.BATTERY_ELECTRIC)
    signed_in.post(
        step_url(application, "loan"), loan("green_nev", down_payment="30000", requested_amount="170000")
    )

    response = signed_in.post(
        step_url(application, "vehicle"), vehicle(dealer, powertrain=Powertrain.FUEL), follow=True
    )

    assertContains(response, "no longer fits this vehicle")
    application.refresh_from_db()
    assert (application.product_id, application.down_payment, application.term_months) == (None, None, None)


def test_a_vehicle_change_that_still_fits_keeps_the_loan(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)
    signed_in.post(step_url(application, "loan"), loan())

    signed_in.post(step_url(application, "vehicle"), vehicle(dealer, vehicle_model="帕萨特 380TSI"))

    application.refresh_from_db()
    assert (application.vehicle_model, application.requested_amount) == (
        "帕萨特 380TSI",
        Decimal("140000.00"),
    )


# --- Step 4: consent ----------------------------------------------------------------------------


def test_the_consent_step_shows_the_notice_version(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.get(step_url(application, "consent"))

    assertContains(response, f"Privacy notice, version {settings.PRIVACY_NOTICE_VERSION}")
    assertContains(
        response, f"I have read and accept the privacy notice (version {settings.PRIVACY_NOTICE_VERSION})."
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("credit_check", "We cannot assess your application without this consent."),
        ("privacy_notice", "Please confirm that you have read the privacy notice."),
    ],
)
def test_both_consents_are_required_and_none_is_saved_without_both(signed_in, dealer, missing, message):
    application = draft_with_vehicle(signed_in, dealer)
    data = {k: v for k, v in CONSENTS.items() if k != missing}

    response = signed_in.post(step_url(application, "consent"), data)

    assert field_errors(response, missing) == [message]
    assert Consent.objects.count() == 0


def test_consents_are_recorded_with_the_notice_version(signed_in, customer, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.post(step_url(application, "consent"), CONSENTS)

    assertRedirects(response, review_url(application))
    assert set(application.consents.values_list("kind", "notice_version", "granted_by")) == {
        (Consent.Kind.CREDIT_CHECK, settings.PRIVACY_NOTICE_VERSION, customer.pk),
        (Consent.Kind.PRIVACY_NOTICE, settings.PRIVACY_NOTICE_VERSION, customer.pk),
    }


# --- Drafts: leave and come back ----------------------------------------------------------------


def test_save_and_finish_later_keeps_the_step_and_returns_to_the_start_page(signed_in, dealer):
    application = start_draft(signed_in)

    response = signed_in.post(
        step_url(application, "vehicle"), {**vehicle(dealer), "save_and_leave": "1"}, follow=True
    )

    assertRedirects(response, START)
    assertContains(response, f"Your draft {application.display_reference} is saved")
    application.refresh_from_db()
    assert application.vehicle_model == "帕萨特"


def test_a_draft_left_after_step_two_is_resumed_with_its_data_filled_in(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)
    signed_in.get("/")  # the customer leaves …

    start = signed_in.get(START)  # … and comes back to apply

    assertContains(start, "Continue your draft")
    assertContains(start, application.display_reference)
    assertContains(start, f'href="{step_url(application, "loan")}"')  # the first step not done yet

    response = signed_in.get(step_url(application, "vehicle"))
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
        signed_in.get(START)
    draft_with_vehicle(signed_in, dealer)
    draft_with_vehicle(signed_in, dealer)
    with django_assert_num_queries(5):
        signed_in.get(START)


# --- Review and submission ----------------------------------------------------------------------


def complete_draft(client, dealer) -> LoanApplication:
    application = draft_with_vehicle(client, dealer)
    client.post(step_url(application, "loan"), loan())
    client.post(step_url(application, "consent"), CONSENTS)
    return application


def test_the_review_page_sums_up_every_step_with_masked_personal_data(signed_in, dealer):
    application = complete_draft(signed_in, dealer)

    response = signed_in.get(review_url(application))

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
        assertContains(response, f'href="{step_url(application, step)}"')
    assertContains(response, "Submit application")


def test_submitting_runs_the_precheck_and_lands_on_the_timeline_awaiting_documents(
    signed_in, dealer, customer, django_capture_on_commit_callbacks
):
    application = complete_draft(signed_in, dealer)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in.post(review_url(application))

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

    page = signed_in.get(review_url(application))
    assertContains(page, "Continue where you left off")
    assertNotContains(page, "Submit application")
    response = signed_in.post(review_url(application), follow=True)

    assertContains(response, "The application is not complete")
    application.refresh_from_db()
    assert application.stage == Stage.DRAFT


def test_a_submitted_application_cannot_be_edited(signed_in, dealer):
    application = complete_draft(signed_in, dealer)
    signed_in.post(review_url(application))

    response = signed_in.post(step_url(application, "vehicle"), vehicle(dealer, vehicle_price="1"))

    assertRedirects(
        response,
        reverse("applications:detail", kwargs={"reference": application.reference}),
        fetch_redirect_response=False,
    )
    application.refresh_from_db()
    assert application.vehicle_price == Decimal("200000.00")


# --- Who may see what ---------------------------------------------------------------------------


def urls_of(application: LoanApplication) -> list[str]:
    return [step_url(application, step) for step in ("personal", "vehicle", "loan", "consent")] + [
        review_url(application)
    ]


def test_another_customer_gets_404_on_every_draft_url(client, draft, other_customer):
    client.force_login(other_customer)
    for url in urls_of(draft):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


def test_anonymous_visitors_are_sent_to_sign_in_on_every_url(client, draft):
    for url in [START, *urls_of(draft)]:
        response = client.get(url)
        assertRedirects(response, f"{reverse('accounts:login')}?next={url}", fetch_redirect_response=False)


def test_staff_cannot_apply(client, reviewer, draft):
    client.force_login(reviewer)
    assert client.get(START).status_code == 403
    assert client.get(step_url(draft, "vehicle")).status_code == 403


def test_an_unknown_step_is_404(signed_in, draft):
    assert signed_in.get(f"/applications/{draft.reference}/edit/payment/").status_code == 404


# --- The services behind the steps --------------------------------------------------------------


def test_a_draft_can_be_created_empty_and_is_not_complete(customer):
    application = services.application_create_draft(created_by=customer, customer=customer)

    assert application.stage == Stage.DRAFT
    assert not application.is_complete()


def test_submission_needs_the_vehicle_and_the_loan_as_well(customer, dealer):
    application = services.application_create_draft(created_by=customer, customer=customer)
    services.applicant_set(
        application=application,
        full_name="张伟",
        id_number=valid_id_number(),
        phone="13812345678",
        employment="employed",
        monthly_income=Decimal(20000),
        monthly_debt=Decimal(0),
    )
    for kind in Consent.Kind.values:
        services.consent_record(application=application, kind=kind, user=customer)

    with pytest.raises(TransitionRefused):
        services.application_submit(application=application, actor=customer)
    services.draft_set_vehicle(
        application=application,
        dealer=dealer,
        vehicle_make="大众",
        vehicle_model="帕萨特",
        vehicle_price=Decimal(200000),
        powertrain=Powertrain.FUEL,
    )
    with pytest.raises(TransitionRefused):
        services.application_submit(application=application, actor=customer)
    services.draft_set_loan(
        application=application,
        product=LoanProduct.objects.get(code="standard"),
        down_payment=Decimal(60000),
        requested_amount=Decimal(140000),
        term_months=36,
    )

    assert services.application_submit(application=application, actor=customer).stage == Stage.SUBMITTED


def test_the_loan_service_reports_every_problem_at_once(draft):
    with pytest.raises(ValidationError) as caught:
        services.draft_set_loan(
            application=draft,
            product=LoanProduct.objects.get(code="green_nev"),
            down_payment=Decimal(1000),
            requested_amount=Decimal(199000),
            term_months=7,
        )

    assert set(caught.value.message_dict) == {"product", "down_payment", "term_months"}


def test_the_step_services_refuse_once_the_application_is_submitted(draft, customer, dealer):
    services.application_submit(application=draft, actor=customer)
    product = LoanProduct.objects.get(code="standard")

    with pytest.raises(TransitionRefused):
        services.draft_set_vehicle(
            application=draft,
            dealer=dealer,
            vehicle_make="x",
            vehicle_model="y",
            vehicle_price=Decimal(1),
            powertrain=Powertrain.FUEL,
        )
    with pytest.raises(TransitionRefused):
        services.draft_set_loan(
            application=draft,
            product=product,
            down_payment=Decimal(60000),
            requested_amount=Decimal(1),
            term_months=36,
        )
    with pytest.raises(TransitionRefused):
        services.applicant_set(
            application=draft,
            full_name="x",
            id_number=valid_id_number(),
            phone="13812345678",
            employment="employed",
            monthly_income=Decimal(1),
            monthly_debt=Decimal(0),
        )
    with pytest.raises(TransitionRefused):
        services.consent_record(application=draft, kind=Consent.Kind.CREDIT_CHECK, user=customer)


def test_a_dealer_draft_without_a_dealer_yet_does_not_break_the_permission_check(dealer_user):
    application = make_draft(customer=None, dealer=DealerFactory(), created_by=dealer_user)
    empty = services.application_create_draft(created_by=dealer_user)

    assert services.available_transitions(application=empty, user=dealer_user) == []
    assert "submit" not in services.available_transitions(application=application, user=dealer_user)


def test_the_review_page_needs_a_fixed_number_of_queries(signed_in, dealer, django_assert_num_queries):
    application = complete_draft(signed_in, dealer)
    # 1 user, 2-3 the user's own and group permissions, 4 the application (applicant, dealer and
    # product joined), 5 its consents, 6 the consent kinds (is_complete); the document checklist:
    # 7 types review requires, 8 the reviewer's requests, 9 documents with rejection reasons,
    # 10-12 the types still owed (documents on file, required types, requests); 13 the unread
    # count in the navbar's inbox link. (The session comes from the cache.)
    with django_assert_num_queries(13):
        signed_in.get(review_url(application))


# --- Before submitting: the mobile number from sign-up, the monthly payment ----------------------


def test_the_mobile_number_from_sign_up_is_filled_in(signed_in, customer):
    customer.set_phone("13900001234")
    customer.save(update_fields=["phone", "phone_hash"])

    response = signed_in.get(START)

    assert response.context["form"]["phone"].value() == "13900001234"
    assertContains(response, 'value="13900001234"')


def test_a_customer_without_a_mobile_number_gets_an_empty_field(signed_in):
    response = signed_in.get(START)

    assert not response.context["form"]["phone"].value()


def test_the_review_shows_the_monthly_payment_for_the_chosen_amount_term_and_product(
    signed_in, customer, dealer
):
    application = make_draft(
        customer=customer, dealer=dealer, requested_amount=Decimal("140000"), term_months=36
    )
    low, high = application.product.rate_range_for(application.powertrain)
    assert low < high  # the standard product's rate is a range until approval

    response = signed_in.get(review_url(application))

    estimate = response.context["monthly"]
    assert estimate.low == annuity_payment(Decimal("140000"), low, 36)
    assert estimate.high == annuity_payment(Decimal("140000"), high, 36)
    assert estimate.low < estimate.high
    assertContains(response, f"{yuan(estimate.low)} to {yuan(estimate.high)}")
    assertContains(response, "The rate is set when your application is approved.")


def test_the_monthly_payment_follows_a_changed_term(signed_in, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, term_months=36)
    three_years = signed_in.get(review_url(application)).context["monthly"]

    application.term_months = 24
    application.save(update_fields=["term_months"])
    two_years = signed_in.get(review_url(application)).context["monthly"]

    assert two_years.low > three_years.low  # a shorter loan costs more a month


def test_the_monthly_payment_is_in_chinese_for_a_chinese_visitor(signed_in, customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = signed_in.get(review_url(application))

    assertContains(response, "预计月供")
    assertContains(response, "最终利率在您的申请获批时确定。")
