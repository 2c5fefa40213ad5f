"""``manage.py seed_demo``: demo accounts, dealers and applications whose histories are real."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from io import StringIO
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from applications.choices import (
    CUSTOMER_STAGES,
    FINAL_STAGES,
    NEW_ENERGY_POWERTRAINS,
    EventKind,
    ReasonKind,
    Stage,
)
from applications.history import verify_chains
from applications.models import Consent, Dealer, LoanApplication, Reason, StageEvent
from applications.precheck import age_on
from applications.tests.factories import stays_as_the_chain_tells
from common.pii import PHONE_RE, keyed_hash, validate_id_number
from demo.bulk import demo_applications_generate
from demo.people import DEMO_PASSWORD, PERSONAS, demo_accounts_ensure, demo_dealers_ensure
from demo.routes import SYSTEM_TRANSITIONS, transition_target

pytestmark = pytest.mark.django_db

SMALL = 60


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--seed", "7", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    seed("--applications", str(SMALL))


def sla_state(application: LoanApplication, now: dt.datetime) -> str:
    share = (now - application.stage_entered_at) / (application.stage_due_at - application.stage_entered_at)
    return "breached" if share > 1 else "at_risk" if share > 0.8 else "on_time"


def test_seed_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed("--applications", "5")
    assert not get_user_model().objects.filter(username__startswith="demo_").exists()
    assert not LoanApplication.objects.exists()


def test_seed_covers_every_stage_and_every_sla_state(seeded):
    applications = list(LoanApplication.objects.all())
    assert len(applications) == SMALL
    assert {a.stage for a in applications} == set(Stage.values)
    now = timezone.now()
    states = {sla_state(a, now) for a in applications if a.stage_due_at is not None}
    assert states == {"on_time", "at_risk", "breached"}
    assert all(a.stage_due_at is None for a in applications if a.stage in FINAL_STAGES)
    for late in (a for a in applications if a.delay_reason_id is not None):
        assert late.delay_reason.kind == ReasonKind.DELAY and late.stage not in CUSTOMER_STAGES
        assert sla_state(late, now) != "on_time"


def test_a_seeded_book_leaves_beat_nothing_to_catch_up(seeded):
    """As if beat had run all along: every open file's SLA state is the clock's, an overdue one has
    its cause, and no pre-check is overdue (``make load`` on a seeded book measures the portal)."""
    from applications.expiry import expiry_due_condition, expiry_reminders_due, expiry_rules
    from applications.services.sla import sla_advance
    from applications.sla import STAFF_CLOCK_STAGES

    now = timezone.now()
    clocked = LoanApplication.objects.filter(stage__in=STAFF_CLOCK_STAGES, stage_due_at__isnull=False)
    assert {a.sla_state for a in clocked} == {"on_time", "at_risk", "breached"}
    assert all(a.sla_state == sla_state(a, now) for a in clocked)
    assert all(a.delay_reason_id is not None for a in clocked if a.sla_state == "breached")
    assert not sla_advance(now=now, batch=1000).changed
    waiting = LoanApplication.objects.filter(stage__in=(Stage.SUBMITTED, Stage.CREDIT_CHECK))
    assert all(now - a.stage_entered_at < dt.timedelta(minutes=1) for a in waiting)
    due = expiry_due_condition(rules=expiry_rules(), now=now)
    assert not LoanApplication.objects.filter(due).values_list("reference", "stage")
    assert not expiry_reminders_due(now=now).values_list("customer__username", "stage")


def test_running_it_again_adds_nothing_and_add_adds_a_batch(seeded):
    user_model = get_user_model()
    users, dealers = user_model.objects.count(), Dealer.objects.count()

    again = seed()
    assert "already exist" in again
    again_with_n = seed("--applications", "500")
    assert "none added" in again_with_n
    assert (user_model.objects.count(), Dealer.objects.count()) == (users, dealers)
    assert LoanApplication.objects.count() == SMALL

    seed("--applications", "10", "--add")
    assert LoanApplication.objects.count() == SMALL + 10
    assert user_model.objects.filter(username__startswith="demo_").count() == len(PERSONAS)
    assert Dealer.objects.count() == 3


def test_every_demo_account_signs_in_with_the_published_password(seeded, client):
    for persona in PERSONAS:
        assert client.login(username=persona.username, password=DEMO_PASSWORD), persona.username
        client.logout()
    dealer = get_user_model().objects.get(username="demo_dealer")
    assert dealer.dealerships.count() == 1
    assert get_user_model().objects.get(username="demo_admin").is_superuser
    assert get_user_model().objects.get(username="demo_reviewer").is_staff


def test_every_history_is_a_valid_chain_of_real_transitions(seeded):
    out = StringIO()
    call_command("verify_history", stdout=out)
    assert f"All {SMALL} application histories verify" in out.getvalue()
    events = defaultdict(list)
    for event in StageEvent.objects.order_by("application_id", "sequence"):
        events[event.application_id].append(event)
    for application in LoanApplication.objects.all():
        history = events[application.pk]
        assert application.event_count == len(history) == history[-1].sequence
        times = [e.created_at for e in history]
        assert times == sorted(times)
        transitions = [e for e in history if e.kind == EventKind.TRANSITION]
        assert transitions[0].transition == "create" and transitions[0].from_stage == ""
        for before, after in pairwise(transitions):
            assert after.from_stage == before.to_stage
            assert transition_target(after.transition, after.from_stage) == after.to_stage
            assert (after.actor_id is None) == (after.transition in SYSTEM_TRANSITIONS)
        assert transitions[-1].to_stage == application.stage
        assert transitions[-1].created_at == application.stage_entered_at
        assert application.created_at == transitions[0].created_at


def test_outcomes_and_four_eyes_match_the_history(seeded):
    reasons = dict(Reason.objects.values_list("code", "kind"))
    for application in LoanApplication.objects.select_related("approved_by").prefetch_related("events"):
        names = {e.transition: e for e in application.events.all() if e.kind == EventKind.TRANSITION}
        if "submit" in names:
            assert application.submitted_at == names["submit"].created_at
        if application.stage in FINAL_STAGES:
            assert application.closed_at == application.stage_entered_at
        if application.stage == Stage.REJECTED:
            assert reasons[application.closing_reason] == ReasonKind.REJECTION
        if application.stage == Stage.EXPIRED:
            assert reasons[application.closing_reason] == ReasonKind.EXPIRY
        if "approve" in names:
            assert application.approved_by_id not in (None, application.reviewed_by_id)
            large = application.requested_amount > 300_000
            assert application.approved_by.username == ("demo_senior" if large else "demo_approver")
            assert application.approved_amount <= application.requested_amount
            assert names["approve"].data["amount"] == format(application.approved_amount, "f")
        if "disburse" in names:
            assert application.disbursed_by_id not in (None, application.approved_by_id)
        for name in ("accept_offer", "decline_offer", "withdraw"):
            if name in names:  # only the applicant may take these
                assert names[name].actor_id == application.customer_id is not None
        if "pass_precheck" in names:
            assert names["pass_precheck"].data["reasons"] == []
        if "fail_precheck" in names:
            assert names["fail_precheck"].reason_code == names["fail_precheck"].data["reasons"][0]


def test_applicants_loans_and_consents_are_realistic(seeded):
    for application in LoanApplication.objects.select_related("applicant", "product"):
        applicant, product = application.applicant, application.product
        assert validate_id_number(applicant.id_number) == applicant.id_number
        assert applicant.id_number_hash == keyed_hash(applicant.id_number)
        assert PHONE_RE.match(applicant.phone) and applicant.phone_hash == keyed_hash(applicant.phone)
        assert 22 <= age_on(applicant.birth_date, timezone.localdate(application.created_at)) <= 55
        assert 100_000 <= application.vehicle_price <= 500_000
        assert application.vehicle_price.as_tuple().exponent == -2
        minimum = product.min_down_payment_ratio_for(application.powertrain)
        assert application.down_payment >= application.vehicle_price * minimum
        assert application.requested_amount == application.vehicle_price - application.down_payment
        assert application.term_months in product.terms
        if product.code == "green_nev":
            assert application.powertrain in NEW_ENERGY_POWERTRAINS
        kinds = set(application.consents.values_list("kind", flat=True))
        if application.stage != Stage.DRAFT:
            assert kinds == set(Consent.Kind.values)


def test_the_demo_customer_has_files_to_show_in_every_part_of_the_site(seeded):
    files = {a.stage: a for a in LoanApplication.objects.filter(customer__username="demo_customer")}
    assert len(files) == 5
    assert {Stage.OFFER_PENDING, Stage.AWAITING_DOCUMENTS, Stage.DISBURSED} <= set(files)
    waiting = files[Stage.AWAITING_DOCUMENTS]
    assert waiting.document_requests.exists() and waiting.missing_document_types()
    # Whoever got past review had every document the review needs.
    for application in LoanApplication.objects.filter(reviewed_by__isnull=False):
        assert application.missing_document_types() == []


def test_workers_prepare_the_same_kind_of_data(settings):
    dealers, _created = demo_dealers_ensure()
    users, _created = demo_accounts_ensure(dealers=dealers)
    result = demo_applications_generate(
        count=40, users=users, dealers=dealers, seed=3, batch_size=10, workers=2
    )
    assert result.applications == LoanApplication.objects.count() == 40
    assert [link for _reference, link in verify_chains() if link is not None] == []


def _checks_in_catalogue() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid::regclass::text LIKE ANY(ARRAY['applications_%', 'accounts_%'])"
            " UNION ALL SELECT tablename, indexdef FROM pg_indexes"
            " WHERE tablename LIKE ANY(ARRAY['applications_%', 'accounts_%']) ORDER BY 1, 2"
        )
        return [(table, _without_casts(definition)) for table, definition in cursor.fetchall()]


def _without_casts(definition: str) -> str:
    """An index's definition without casts and parentheses: a partial index on ``stage IN (…)``
    re-created from its own definition is the same index, but PostgreSQL prints the predicate
    parsed the second time as ``(ARRAY['a'::character varying, …])::text[]`` where the first was
    ``ARRAY[('a'::character varying)::text, …]``."""
    return re.sub(r"[()]", "", re.sub(r"::[a-z ]+(\[\])?", "", definition))


def test_a_bulk_load_puts_every_index_and_foreign_key_back():
    before = _checks_in_catalogue()
    dealers, _created = demo_dealers_ensure()
    users, _created = demo_accounts_ensure(dealers=dealers)
    result = demo_applications_generate(count=30, users=users, dealers=dealers, seed=5, bulk_load=True)
    assert result.applications == LoanApplication.objects.count() == 30
    assert _checks_in_catalogue() == before
    assert [link for _reference, link in verify_chains() if link is not None] == []


def test_the_demo_records_each_stay_as_the_chain_tells():
    dealers, _created = demo_dealers_ensure()
    users, _created = demo_accounts_ensure(dealers=dealers)
    demo_applications_generate(count=20, users=users, dealers=dealers, seed=11)

    events = list(StageEvent.objects.order_by("application_id", "sequence"))
    by_application: dict[int, list[StageEvent]] = {}
    for event in events:
        by_application.setdefault(event.application_id, []).append(event)
    for chain in by_application.values():
        assert [(e.stay_started_at, e.stay_due_at) for e in chain] == stays_as_the_chain_tells(chain)
    assert sum(e.stay_started_at is not None for e in events) > 20
    assert sum(e.stay_due_at is not None for e in events) > 0


def test_the_demo_customers_files_ask_their_stages_partner_steps(seeded):
    from applications.models import PartnerStep, PartnerStepRequirement

    stages = set(PartnerStepRequirement.objects.values_list("stage", flat=True))
    files = LoanApplication.objects.filter(
        customer__username__in=["demo_customer", "demo_customer2"], stage__in=sorted(stages)
    )
    assert files.exists()
    for application in files:
        asked = set(PartnerStep.objects.filter(application=application).values_list("stage", flat=True))
        assert asked == {application.stage}
    out = StringIO()
    call_command("verify_history", stdout=out)
    assert f"All {SMALL} application histories verify" in out.getvalue()
