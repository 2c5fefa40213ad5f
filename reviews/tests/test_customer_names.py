"""Staff see the customer by name, masked as the back office shows names (张*), never by the
generated user name of their account; staff keep their own names."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from applications.choices import Stage
from applications.models import LoanApplication
from applications.tests.factories import make_draft
from reviews.admin.inlines import person_label

from .builders import Pipeline

pytestmark = pytest.mark.django_db

GENERATED = "cust_ab12cd"  # what a customer who signed up with a mobile number is called


@pytest.fixture
def pipeline(make_user, dealer, reviewer, approver, operations) -> Pipeline:
    customer = make_user(GENERATED, Role.CUSTOMER)
    return Pipeline(
        customer=customer, dealer=dealer, reviewer=reviewer, approver=approver, operations=operations
    )


def test_the_history_names_the_customer_masked_and_staff_by_name(client, pipeline, manager):
    application = pipeline.new(Stage.APPROVAL)  # the customer submitted; `reviewer` recommended
    client.force_login(manager)  # sees every stage

    page = client.get(
        reverse("admin:applications_loanapplication_change", args=[application.pk])
    ).content.decode()

    actors = set(re.findall(r'class="field-actor_name">\s*(?:<p>)?([^<]*)<', page))
    assert {"张*", "reviewer", "system"} <= actors  # the customer submitted, the pre-check, the review
    assert GENERATED not in page


def test_the_page_names_the_customer_account_by_the_applicants_masked_name(client, pipeline, reviewer):
    application = pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(
        reverse("admin:applications_loanapplication_change", args=[application.pk])
    ).content.decode()

    assert '<div class="readonly">张*</div>' in page  # customer account, and created by
    assert GENERATED not in page


def test_the_queue_shows_the_applicant_masked_never_the_account(client, pipeline, reviewer):
    pipeline.new(Stage.UNDER_REVIEW)
    client.force_login(reviewer)

    page = client.get(reverse("admin:applications_loanapplication_changelist")).content.decode()

    assert "张*" in page
    assert GENERATED not in page


def test_a_customer_without_a_name_yet_is_the_customer(make_user, dealer):
    customer = make_user(GENERATED, Role.CUSTOMER)
    application = LoanApplication(customer=customer, created_by=customer, dealer=dealer)

    with translation.override("en"):
        assert person_label(application, customer) == "the customer"


def test_dealer_staff_and_nobody_are_named_as_they_are(make_user, dealer):
    customer = make_user(GENERATED, Role.CUSTOMER)
    application = make_draft(customer=customer, dealer=dealer)
    clerk = make_user("dealer_clerk", Role.DEALER)

    assert person_label(application, clerk) == "dealer_clerk"
    assert person_label(application, None) == "—"
