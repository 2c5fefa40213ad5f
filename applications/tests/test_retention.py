"""Retention (PIPL): a closed file is anonymised once its retention period has passed (the
applicant, the documents and their files, the history's notes), the history still verifies, and
an application never submitted is deleted after ``DRAFT_RETENTION_DAYS``. The clock moves with
time_machine."""

from __future__ import annotations

import datetime as dt
import logging
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from applications import services, tasks
from applications.choices import EventKind
from applications.history import verify_chains
from applications.models import Applicant, Document, LoanApplication, StageEvent

from .factories import in_review, make_draft

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
YEAR = dt.timedelta(days=365)


def closed_file(customer, dealer, reviewer) -> LoanApplication:
    """Rejected in review at T0, with a staff note naming the applicant."""
    from applications.models import Reason

    with time_machine.travel(T0, tick=False):
        application = in_review(customer, dealer)
        services.application_event_add(
            application=application, kind=EventKind.NOTE, actor=reviewer, note="张伟 called from 13812345678"
        )
        return services.review_reject(
            application=LoanApplication.objects.get(pk=application.pk),
            actor=reviewer,
            reason=Reason.objects.filter(kind="rejection").first(),
            note="张伟: income too low",
        )


def retention(now: dt.datetime, batch: int = 50):
    return services.retention_apply(now=now, batch=batch)


def test_notes_are_hashed_as_a_salted_digest_not_as_text(customer, dealer, reviewer):
    application = closed_file(customer, dealer, reviewer)
    noted = StageEvent.objects.filter(application=application).exclude(note="")
    assert noted.count() == 2
    for event in noted:
        assert len(event.note_digest) == 64 and len(event.note_salt) == 32
        assert b"13812345678" not in event.canonical(application.reference)


def test_a_closed_file_is_anonymised_after_its_retention_period_and_still_verifies(
    customer, dealer, reviewer, django_capture_on_commit_callbacks, caplog
):
    application = closed_file(customer, dealer, reviewer)
    files = list(Document.objects.filter(application=application).values_list("file", flat=True))
    assert files and all(default_storage.exists(name) for name in files)

    # One day short of five years: nothing happens.
    assert retention(T0 + 5 * YEAR).anonymised == 0
    assert Applicant.objects.filter(application=application).exists()

    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        result = retention(T0 + 5 * YEAR + 2 * dt.timedelta(days=1))

    assert (result.anonymised, result.documents_removed, result.notes_erased) == (1, 4, 2)
    application.refresh_from_db()
    assert application.anonymised_at is not None and application.customer is None
    assert not Applicant.objects.filter(application=application).exists()
    assert not Document.objects.filter(application=application).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert not StageEvent.objects.filter(application=application).exclude(note="").exists()
    assert dict(verify_chains()) == {application.reference: None}
    out = StringIO()
    call_command("verify_history", stdout=out)
    assert "All 1 application histories verify." in out.getvalue()
    # Logged as counts: no reference, name or number.
    logged = caplog.text
    assert "1 files anonymised" in logged
    assert application.reference not in logged and "张伟" not in logged and "138" not in logged
    # A second pass finds nothing left to do.
    assert retention(T0 + 6 * YEAR).anonymised == 0


def test_an_erased_note_outside_an_anonymised_file_breaks_the_chain(customer, dealer, reviewer):
    application = closed_file(customer, dealer, reviewer)
    StageEvent.objects.filter(application=application).exclude(note="").update(note="", note_salt="")
    link = dict(verify_chains())[application.reference]
    assert link is not None and "note" in link.problem


def test_an_edited_note_breaks_the_chain(customer, dealer, reviewer):
    application = closed_file(customer, dealer, reviewer)
    StageEvent.objects.filter(application=application).exclude(note="").update(note="nothing to see")
    link = dict(verify_chains())[application.reference]
    assert link is not None and "note" in link.problem


def test_a_disbursed_loan_is_kept_five_years_after_its_last_instalment(customer, dealer):
    application = make_draft(customer=customer, dealer=dealer)
    # A disbursed 36-month loan paid out at T0 (the row as the transition leaves it).
    LoanApplication.objects.filter(pk=application.pk).update(
        stage="disbursed", submitted_at=T0, closed_at=T0, approved_term_months=36
    )
    assert retention(T0 + 5 * YEAR + 30 * dt.timedelta(days=1)).anonymised == 0
    assert retention(T0 + 8 * YEAR + 3 * dt.timedelta(days=1)).anonymised == 1


def test_a_legacy_note_inside_the_hash_is_kept_and_counted(customer, dealer, reviewer):
    """Events written before 0026 hashed the note itself: erasing it would break the chain."""
    application = closed_file(customer, dealer, reviewer)
    events = list(StageEvent.objects.filter(application=application).order_by("sequence"))
    legacy = next(event for event in events if event.note)
    legacy.note_digest = legacy.note_salt = ""
    # The chain from there on as it was written before 0026: each event hashed over the one before.
    head = events[legacy.sequence - 2].hash
    for event in events[legacy.sequence - 1 :]:
        event.prev_hash = head
        event.hash = head = event.compute_hash(application.reference)
        event.save()
    LoanApplication.objects.filter(pk=application.pk).update(history_head=head)
    assert dict(verify_chains()) == {application.reference: None}

    result = retention(T0 + 6 * YEAR)

    assert (result.anonymised, result.notes_erased, result.legacy_notes_kept) == (1, 1, 1)
    assert dict(verify_chains()) == {application.reference: None}


def test_drafts_never_submitted_are_deleted_after_the_configured_days(customer, dealer, settings):
    settings.DRAFT_RETENTION_DAYS = 60
    with time_machine.travel(T0, tick=False):
        draft = make_draft(customer=customer, dealer=dealer, documents=True)
    with time_machine.travel(T0 + 30 * dt.timedelta(days=1), tick=False):
        recent = make_draft(customer=customer, dealer=dealer)

    assert retention(T0 + 59 * dt.timedelta(days=1)).drafts_deleted == 0
    result = retention(T0 + 61 * dt.timedelta(days=1))

    assert result.drafts_deleted == 1
    assert list(LoanApplication.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not StageEvent.objects.filter(application_id=draft.pk).exists()


def test_the_beat_task_runs_a_pass_and_is_scheduled(customer, dealer, reviewer, settings):
    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "applications.tasks.retention_sweep"
    closed_file(customer, dealer, reviewer)
    with time_machine.travel(T0 + 6 * YEAR, tick=False):
        assert tasks.retention_sweep() == {"anonymised": 1, "drafts_deleted": 0, "more": False}


@pytest.mark.django_db(transaction=True)
def test_a_file_someone_holds_is_left_for_the_next_pass(customer, dealer, reviewer):
    from django.db import connections, transaction

    application = make_draft(customer=customer, dealer=dealer)  # closed long ago:
    LoanApplication.objects.filter(pk=application.pk).update(stage="rejected", submitted_at=T0, closed_at=T0)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM applications_loanapplication WHERE id = %s FOR UPDATE", [application.pk]
            )
            with transaction.atomic():
                assert retention(T0 + 6 * YEAR).anonymised == 0
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert retention(T0 + 6 * YEAR).anonymised == 1


def test_staff_still_open_an_anonymised_file(client, customer, dealer, reviewer, manager):
    application = closed_file(customer, dealer, reviewer)
    retention(T0 + 6 * YEAR)
    client.force_login(manager)
    page = client.get(reverse("admin:applications_loanapplication_change", args=[application.pk]))
    queue = client.get(reverse("admin:applications_loanapplication_changelist"), {"stage": "rejected"})
    assert page.status_code == 200 and queue.status_code == 200
    assert "张伟" not in page.content.decode()
