"""Applying for a loan, step by step: each of the four steps saved on its own, clear messages next
to the field, nothing saved from an invalid step, and what each step keeps of what is on file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from applications.choices import Powertrain, Stage
from applications.models import Applicant, Consent, LoanApplication, LoanProduct, StageEvent

from .factories import (
    APPLY_START,
    APPLY_TODAY,
    CONSENTS,
    DealerFactory,
    apply_review_url,
    apply_step_url,
    draft_with_vehicle,
    field_errors,
    loan_data,
    personal_data,
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


# --- Step 1: personal details -------------------------------------------------------------------


def test_the_start_page_shows_step_one_with_the_step_indicator(signed_in):
    response = signed_in.get(APPLY_START)

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
    response = signed_in.post(APPLY_START, personal_data(**changes))

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
        response = signed_in.post(APPLY_START, personal_data(full_name=""))

    assertContains(response, '<html lang="zh-hans">')
    assertContains(response, "这个字段是必填项。")


def test_editing_personal_details_with_a_wrong_check_digit_keeps_the_saved_ones(signed_in):
    application = start_draft(signed_in)
    good = valid_id_number()
    bad = good[:17] + ("1" if good[17] != "1" else "2")

    response = signed_in.post(
        apply_step_url(application, "personal"), personal_data(id_number=bad, full_name="李娜")
    )

    assert "check digit" in field_errors(response, "id_number")[0]
    applicant = Applicant.objects.get(application=application)
    assert (applicant.full_name, applicant.id_number) == ("张伟", good)


def test_the_personal_step_never_shows_the_saved_id_or_phone_number_again(signed_in):
    application = start_draft(signed_in)

    response = signed_in.get(apply_step_url(application, "personal"))

    assertContains(response, 'value="张伟"')
    assertNotContains(response, valid_id_number())
    assertNotContains(response, "13812345678")
    assertContains(response, "110101********")  # the masked hint
    assertContains(response, "138****5678")


def test_left_blank_the_id_phone_and_income_keep_the_values_on_file(signed_in):
    application = start_draft(signed_in)

    response = signed_in.post(
        apply_step_url(application, "personal"),
        personal_data(full_name="张伟伟", id_number="", phone="", monthly_income=""),
    )

    assertRedirects(response, apply_step_url(application, "vehicle"))
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

    response = signed_in.get(apply_step_url(application, "vehicle"))

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

    response = signed_in.post(apply_step_url(application, "vehicle"), {**vehicle_data(dealer), **changes})

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field))
    application.refresh_from_db()
    assert (application.dealer_id, application.vehicle_make, application.vehicle_price) == (None, "", None)


def test_the_loan_step_waits_for_the_vehicle(signed_in):
    application = start_draft(signed_in)

    response = signed_in.get(apply_step_url(application, "loan"))

    assertRedirects(response, apply_step_url(application, "vehicle"))


# --- Step 3: the loan ---------------------------------------------------------------------------


def test_a_valid_loan_step_is_saved(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.post(apply_step_url(application, "loan"), loan_data())

    assertRedirects(response, apply_step_url(application, "consent"))
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

    response = signed_in.post(apply_step_url(application, "loan"), loan_data(**changes))

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
    signed_in.post(apply_step_url(application, "vehicle"), vehicle_data(dealer))

    too_long = signed_in.post(
        apply_step_url(application, "loan"), loan_data(term_months="60")
    )  # 66 at the end

    assert field_errors(too_long, "term_months") == [
        "You would be 66 when this loan ends; the limit is 65. Choose a shorter term."
    ]
    application.refresh_from_db()
    assert application.term_months is None

    short_enough = signed_in.post(
        apply_step_url(application, "loan"), loan_data(term_months="36")
    )  # 64 at the end

    assertRedirects(short_enough, apply_step_url(application, "consent"))


def test_the_loan_step_offers_only_products_suited_to_the_powertrain_with_the_minimum_down_payment(
    signed_in, dealer
):
    fuel = draft_with_vehicle(signed_in, dealer)
    response = signed_in.get(apply_step_url(fuel, "loan"))
    assertContains(response, "Standard car loan — minimum down payment ¥40,000.00 (20%)")
    assertNotContains(response, "Green new-energy loan")

    electric = draft_with_vehicle(signed_in, dealer, powertrain=Powertrain.BATTERY_ELECTRIC)
    response = signed_in.get(apply_step_url(electric, "loan"))
    assertContains(response, "Standard car loan — minimum down payment ¥30,000.00 (15%)")
    assertContains(response, "Green new-energy loan — minimum down payment ¥30,000.00 (15%)")


def test_a_vehicle_change_that_no_longer_fits_the_loan_clears_the_loan(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer, powertrain=Powertrain.BATTERY_ELECTRIC)
    signed_in.post(
        apply_step_url(application, "loan"),
        loan_data("green_nev", down_payment="30000", requested_amount="170000"),
    )

    response = signed_in.post(
        apply_step_url(application, "vehicle"), vehicle_data(dealer, powertrain=Powertrain.FUEL), follow=True
    )

    assertContains(response, "no longer fits this vehicle")
    application.refresh_from_db()
    assert (application.product_id, application.down_payment, application.term_months) == (None, None, None)


def test_a_vehicle_change_that_still_fits_keeps_the_loan(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)
    signed_in.post(apply_step_url(application, "loan"), loan_data())

    signed_in.post(
        apply_step_url(application, "vehicle"), vehicle_data(dealer, vehicle_model="帕萨特 380TSI")
    )

    application.refresh_from_db()
    assert (application.vehicle_model, application.requested_amount) == (
        "帕萨特 380TSI",
        Decimal("140000.00"),
    )


# --- Step 4: consent ----------------------------------------------------------------------------


def test_the_consent_step_shows_the_notice_version(signed_in, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.get(apply_step_url(application, "consent"))

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

    response = signed_in.post(apply_step_url(application, "consent"), data)

    assert field_errors(response, missing) == [message]
    assert Consent.objects.count() == 0


def test_consents_are_recorded_with_the_notice_version(signed_in, customer, dealer):
    application = draft_with_vehicle(signed_in, dealer)

    response = signed_in.post(apply_step_url(application, "consent"), CONSENTS)

    assertRedirects(response, apply_review_url(application))
    assert set(application.consents.values_list("kind", "notice_version", "granted_by")) == {
        (Consent.Kind.CREDIT_CHECK, settings.PRIVACY_NOTICE_VERSION, customer.pk),
        (Consent.Kind.PRIVACY_NOTICE, settings.PRIVACY_NOTICE_VERSION, customer.pk),
    }


# --- Before submitting: the mobile number from sign-up, the monthly payment ----------------------


def test_the_mobile_number_from_sign_up_is_filled_in(signed_in, customer):
    customer.set_phone("13900001234")
    customer.save(update_fields=["phone", "phone_hash"])

    response = signed_in.get(APPLY_START)

    assert response.context["form"]["phone"].value() == "13900001234"
    assertContains(response, 'value="13900001234"')


def test_a_customer_without_a_mobile_number_gets_an_empty_field(signed_in):
    response = signed_in.get(APPLY_START)

    assert not response.context["form"]["phone"].value()
