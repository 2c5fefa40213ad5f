"""What the report needs recorded: each stay's due time in the history, each applicant's income band."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from applications import services
from applications.choices import EventKind, IncomeBand, Stage, income_band_of
from applications.history import verify_chains
from applications.models import Applicant, StageEvent
from applications.tests.factories import make_draft

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 in Shanghai


def test_a_transition_records_when_the_stage_it_enters_is_due(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, documents=True)
    application = services.application_submit(application=application, actor=customer, now=NOW)
    application = services.precheck_start(application=application, now=NOW)
    application = services.precheck_pass(application=application, now=NOW)

    entered_review = StageEvent.objects.get(application=application, to_stage=Stage.UNDER_REVIEW)
    created = StageEvent.objects.get(application=application, to_stage=Stage.DRAFT)

    assert application.stage_due_at is not None
    assert entered_review.due_at == application.stage_due_at
    assert created.due_at is None  # a draft has no time limit


def test_the_due_time_is_covered_by_the_history_hash_and_the_chain_still_holds(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, documents=True)
    application = services.application_submit(application=application, actor=customer, now=NOW)
    application = services.precheck_start(application=application, now=NOW)
    application = services.precheck_pass(application=application, now=NOW)

    assert dict(verify_chains())[application.reference] is None
    event = StageEvent.objects.get(application=application, to_stage=Stage.UNDER_REVIEW)
    StageEvent.objects.filter(pk=event.pk).update(due_at=event.due_at + dt.timedelta(days=1))
    broken = dict(verify_chains())[application.reference]
    assert broken is not None and broken.sequence == event.sequence


def test_events_without_a_due_time_hash_as_they_did_before_it_existed(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    created = StageEvent.objects.get(application=application, kind=EventKind.TRANSITION)

    assert created.due_at is None
    assert b'"due"' not in created.canonical(application.reference)


def test_saving_the_applicant_sets_the_income_band(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer, monthly_income=Decimal("12000.00"))
    assert application.applicant.income_band == IncomeBand.FROM_8K

    services.applicant_set(
        application=application,
        full_name="张伟",
        id_number=application.applicant.id_number,
        phone=application.applicant.phone,
        employment=application.applicant.employment,
        monthly_income=Decimal("52000.00"),
        monthly_debt=Decimal("0"),
    )

    assert Applicant.objects.get(application=application).income_band == IncomeBand.FROM_50K


@pytest.mark.parametrize(
    ("income", "band"),
    [
        ("0", IncomeBand.UNDER_8K),
        ("7999.99", IncomeBand.UNDER_8K),
        ("8000", IncomeBand.FROM_8K),
        ("14999.99", IncomeBand.FROM_8K),
        ("15000", IncomeBand.FROM_15K),
        ("30000", IncomeBand.FROM_30K),
        ("49999.99", IncomeBand.FROM_30K),
        ("50000", IncomeBand.FROM_50K),
    ],
)
def test_a_bands_lower_bound_belongs_to_it(income, band):
    assert income_band_of(Decimal(income)) == band


def test_the_data_migration_bands_applicants_saved_before_the_band_existed(customer, dealer):
    first = make_draft(customer=customer, dealer=dealer, monthly_income=Decimal("9000.00"))
    second = make_draft(customer=customer, dealer=dealer, monthly_income=Decimal("31000.00"))
    Applicant.objects.update(income_band="")  # as they were before 0012
    migration = importlib.import_module("applications.migrations.0013_fill_income_band")

    migration.fill(apps, None)

    bands = dict(Applicant.objects.values_list("application_id", "income_band"))
    assert bands == {first.pk: IncomeBand.FROM_8K, second.pk: IncomeBand.FROM_30K}
    # The migration keeps its own copy of the bands: it must agree with today's.
    for income in ("7999.99", "8000", "15000", "30000", "50000"):
        assert migration.band_of(Decimal(income)) == income_band_of(Decimal(income))
