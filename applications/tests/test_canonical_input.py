"""An ID card number, mobile number or reference typed in full-width, Arabic-Indic or mixed digits is
the same identifier as its ASCII spelling: the apply form stores it canonical, the blacklist refuses
it, /track/ finds the file by it and counts it against the same limit; the data migration rewrites
what was stored before."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from applications import services
from applications.choices import Stage
from applications.models import Applicant, BlacklistEntry, LoanApplication
from common import sms
from common.pii import keyed_hash
from common.tests.spellings import ARABIC_INDIC, FULL_WIDTH, SPELLINGS, full_width, mixed, spelled

from .factories import make_draft, valid_id_number

pytestmark = pytest.mark.django_db

ID_NUMBER = valid_id_number(serial="777")  # born 7 March 1990
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The rate limit's counters live in the cache."""
    cache.clear()
    yield
    cache.clear()


def submitted(customer, dealer, **draft) -> LoanApplication:
    """Sent to us with every document on file (its pre-check runs once the commit callbacks do)."""
    application = make_draft(customer=customer, dealer=dealer, documents=True, **draft)
    services.application_submit(application=application, actor=customer)
    application.refresh_from_db()
    return application


# --- The apply form -----------------------------------------------------------------------------


@SPELLINGS
def test_the_apply_form_stores_and_hashes_the_numbers_in_ascii(client, customer, spell):
    client.force_login(customer)
    response = client.post(
        "/applications/new/",
        {
            "full_name": "张伟",
            "id_number": spell(ID_NUMBER).lower(),
            "phone": spell("+86 138 1234 5678"),
            "employment": "employed",
            "monthly_income": "25000",
            "monthly_debt": "2000",
        },
    )

    assert response.status_code == 302
    applicant = Applicant.objects.get()
    assert (applicant.id_number, applicant.id_number_hash) == (ID_NUMBER, keyed_hash(ID_NUMBER))
    assert (applicant.phone, applicant.phone_hash) == (PHONE, keyed_hash(PHONE))


# --- The blacklist ------------------------------------------------------------------------------


def blacklist_in_admin(admin_client, id_number: str) -> None:
    response = admin_client.post(
        reverse("admin:applications_blacklistentry_add"), {"id_number": id_number, "note": "known fraud"}
    )
    assert response.status_code == 302


@SPELLINGS
def test_a_blacklisted_id_number_typed_in_other_digits_is_refused_by_the_precheck(
    admin_client, customer, dealer, django_capture_on_commit_callbacks, spell
):
    blacklist_in_admin(admin_client, ID_NUMBER)

    with django_capture_on_commit_callbacks(execute=True):
        application = submitted(customer, dealer, id_number=spell(ID_NUMBER))

    application.refresh_from_db()
    assert (application.stage, application.closing_reason) == (Stage.REJECTED, "risk_check_failed")


@SPELLINGS
def test_an_id_number_blacklisted_in_other_digits_refuses_its_ascii_spelling(
    admin_client, customer, dealer, django_capture_on_commit_callbacks, spell
):
    blacklist_in_admin(admin_client, spell(ID_NUMBER))
    assert BlacklistEntry.objects.get().id_number_hash == keyed_hash(ID_NUMBER)

    with django_capture_on_commit_callbacks(execute=True):
        application = submitted(customer, dealer, id_number=ID_NUMBER)

    application.refresh_from_db()
    assert (application.stage, application.closing_reason) == (Stage.REJECTED, "risk_check_failed")


# --- /track/ ------------------------------------------------------------------------------------

TRACK = "/track/"
TRACK_CODE = "/track/code/"
NOT_FOUND = "We could not find an application with this reference number and mobile number."


def lookup(client, reference: str, phone: str, ip: str = "203.0.113.7"):
    """Step 1 of /track/: the reference and the number (a code is texted when they match a file)."""
    return client.post(
        TRACK, {"reference": reference, "phone": phone}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en"
    )


def tracked(client, reference: str, phone: str, ip: str = "203.0.113.7"):
    """Both steps: the lookup, then the code texted to the number on file, as the customer reads it."""
    assert lookup(client, reference, phone, ip).status_code == 302
    codes = [sent.message.params["code"] for sent in sms.outbox if sent.phone == PHONE]
    assert len(codes) == 1, "the file's number got exactly one code"
    return client.post(TRACK_CODE, {"code": codes[0]}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")


@SPELLINGS
def test_track_finds_the_file_by_the_phone_typed_in_other_digits(client, customer, dealer, spell):
    application = submitted(customer, dealer)

    response = tracked(client, application.display_reference, spell("138 1234 5678"))

    assert response.status_code == 200 and "timeline" in response.context


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(full_width, id="full-width"),
        pytest.param(lambda r: full_width(r).lower(), id="full-width-lower"),
        pytest.param(lambda r: spelled(r, ARABIC_INDIC), id="arabic-indic"),
        pytest.param(lambda r: mixed(r.lower()), id="mixed"),
    ],
)
def test_track_finds_the_file_by_the_reference_typed_in_other_characters(client, customer, dealer, spell):
    application = submitted(customer, dealer)

    response = tracked(client, spell(application.display_reference), PHONE)

    assert response.status_code == 200 and "timeline" in response.context


def test_a_reference_with_a_letter_outside_ascii_finds_nothing(client, customer, dealer):
    application = submitted(customer, dealer)
    look_alike = application.reference[:-1] + "Ε"  # a Greek capital epsilon

    response = lookup(client, look_alike, PHONE)

    assert "timeline" not in response.context
    assert response.context["form"].errors["reference"]


def test_other_spellings_of_a_reference_count_against_its_one_limit(client, customer, dealer):
    application = submitted(customer, dealer)
    spellings = [
        application.reference,
        application.display_reference.lower(),
        full_width(application.display_reference),
        spelled(application.reference, ARABIC_INDIC),
        mixed(application.reference),
    ]
    for number, spelling in enumerate(spellings):
        lookup(client, spelling, f"1390000000{number}", ip=f"198.51.100.{number}")

    assert lookup(client, application.reference, PHONE, ip="192.0.2.99").status_code == 429


# --- The data migration -------------------------------------------------------------------------

migration = importlib.import_module("applications.migrations.0020_canonical_identifiers")


def stored_as_typed(application: LoanApplication, *, id_number: str, phone: str) -> None:
    """The applicant as the earlier code saved it: the numbers and their hashes exactly as typed."""
    applicant = application.applicant
    applicant.id_number, applicant.id_number_hash = id_number, keyed_hash(id_number)
    applicant.phone, applicant.phone_hash = phone, keyed_hash(phone)
    applicant.save(update_fields=["id_number", "id_number_hash", "phone", "phone_hash"])


def test_the_migration_rewrites_applicants_numbers_in_their_canonical_spelling(customer, dealer):
    typed = make_draft(customer=customer, dealer=dealer)
    stored_as_typed(typed, id_number=spelled(ID_NUMBER, FULL_WIDTH), phone=mixed("13912345678"))
    canonical = make_draft(customer=customer, dealer=dealer)

    assert migration.canonicalise_applicants(Applicant, BlacklistEntry) == []

    applicant = Applicant.objects.get(application=typed)
    assert (applicant.id_number, applicant.id_number_hash) == (ID_NUMBER, keyed_hash(ID_NUMBER))
    assert (applicant.phone, applicant.phone_hash) == ("13912345678", keyed_hash("13912345678"))
    assert Applicant.objects.get(application=canonical).id_number == valid_id_number()


def test_the_migration_re_keys_a_blacklist_entry_typed_like_an_applicant(customer, dealer):
    typed = spelled(ID_NUMBER, ARABIC_INDIC)
    stored_as_typed(make_draft(customer=customer, dealer=dealer), id_number=typed, phone=PHONE)
    entry = BlacklistEntry.objects.create(id_number_hash=keyed_hash(typed))

    migration.canonicalise_applicants(Applicant, BlacklistEntry)

    entry.refresh_from_db()
    assert entry.id_number_hash == keyed_hash(ID_NUMBER)


def test_the_migration_reports_an_applicant_who_escaped_the_blacklist(customer, dealer, caplog):
    application = make_draft(customer=customer, dealer=dealer)
    stored_as_typed(application, id_number=spelled(ID_NUMBER, FULL_WIDTH), phone=PHONE)
    BlacklistEntry.objects.create(id_number_hash=keyed_hash(ID_NUMBER))

    with caplog.at_level(logging.WARNING, logger="loanportal.migrations"):
        reports = migration.canonicalise_applicants(Applicant, BlacklistEntry)

    assert reports == [
        f"application {application.reference}: the applicant's ID number is blacklisted, which a "
        "pre-check before this migration did not see (it was typed in other digits)"
    ]
    assert reports[0] in caplog.text


def test_the_migration_leaves_a_blacklist_entry_that_would_collide_and_reports_it(customer, dealer, caplog):
    typed = spelled(ID_NUMBER, FULL_WIDTH)
    stored_as_typed(make_draft(customer=customer, dealer=dealer), id_number=typed, phone=PHONE)
    duplicate = BlacklistEntry.objects.create(id_number_hash=keyed_hash(typed))
    BlacklistEntry.objects.create(id_number_hash=keyed_hash(ID_NUMBER))

    with caplog.at_level(logging.WARNING, logger="loanportal.migrations"):
        reports = migration.canonicalise_applicants(Applicant, BlacklistEntry)

    assert reports == [f"blacklist entry {duplicate.pk} duplicates another once canonical; left as it is"]
    assert reports[0] in caplog.text
    duplicate.refresh_from_db()
    assert duplicate.id_number_hash == keyed_hash(typed)


def test_the_migration_runs_on_the_historical_models(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    stored_as_typed(application, id_number=mixed(ID_NUMBER), phone=full_width(PHONE))
    before = MigrationLoader(connection).project_state(("applications", "0019_announce_changes"))

    migration.canonicalise(before.apps, None)

    applicant = Applicant.objects.get()
    assert (applicant.id_number_hash, applicant.phone_hash) == (keyed_hash(ID_NUMBER), keyed_hash(PHONE))
