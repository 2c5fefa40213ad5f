"""The services behind the apply steps: drafts, step saves and the submission's conditions, called
directly, as the pages and the dealer's staff do."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from applications import services
from applications.choices import Powertrain, Stage
from applications.models import Consent, LoanProduct
from applications.services import TransitionRefused

from .factories import (
    APPLY_TODAY,
    DealerFactory,
    make_draft,
    valid_id_number,
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
