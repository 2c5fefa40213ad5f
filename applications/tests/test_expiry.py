"""Nothing stays open for ever: the expiry pass (``services.applications_expire_due``) closes an
offer past its reply-by date, a file still waiting for documents at its deadline and a draft left
untouched, each through the transition path (an event, the customer's decision notice), once, by
limits an operator edits in the admin. The clock is moved with time_machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils.duration import duration_string

from applications import services, tasks
from applications.choices import EventKind, Stage
from applications.models import LoanApplication, StageDefinition, StageEvent
from applications.services import ExpiryPass
from notifications.choices import Kind
from notifications.models import Notification

from .factories import at_offer, awaiting_documents, detail_url, make_draft, text_of, upload

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Everything starts on Monday 2 March 2026 at 10:00: the offer is valid for 7 days, the documents
# are due within 14, a draft untouched for 30 days expires (the defaults).
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def expire(now: dt.datetime, batch: int = 100) -> ExpiryPass:
    with time_machine.travel(now, tick=False):
        return services.applications_expire_due(now=now, batch=batch)


def stage_of(application: LoanApplication) -> str:
    application.refresh_from_db()
    return application.stage


def last_event(application: LoanApplication) -> StageEvent:
    return StageEvent.objects.filter(application=application).latest("sequence")


@pytest.fixture
def offer(customer, dealer, reviewer, approver) -> LoanApplication:
    with time_machine.travel(T0, tick=False):
        application = at_offer(customer, dealer, reviewer, approver, now=T0)
    assert application.stage_due_at == T0 + 7 * DAY
    return application


@pytest.fixture
def waiting(customer, dealer, reviewer) -> LoanApplication:
    with time_machine.travel(T0, tick=False):
        application = awaiting_documents(customer, dealer, reviewer)
    assert application.stage_due_at == T0 + 14 * DAY
    return application


@pytest.fixture
def old_draft(customer, dealer) -> LoanApplication:
    with time_machine.travel(T0, tick=False):
        return make_draft(customer=customer, dealer=dealer)


# --- What expires, and how ----------------------------------------------------------------------


def test_an_offer_unanswered_past_its_reply_by_date_expires_and_the_customer_is_told_why(offer, customer):
    assert expire(T0 + 7 * DAY - MINUTE) == ExpiryPass()
    assert stage_of(offer) == Stage.OFFER_PENDING

    result = expire(T0 + 7 * DAY + MINUTE)

    assert result.expired == ((offer.pk, Stage.OFFER_PENDING),)
    assert stage_of(offer) == Stage.EXPIRED
    assert (offer.closing_reason, offer.closed_at) == ("offer_not_accepted", T0 + 7 * DAY + MINUTE)
    event = last_event(offer)
    assert (event.transition, event.from_stage, event.to_stage, event.actor, event.reason_code) == (
        "expire",
        Stage.OFFER_PENDING,
        Stage.EXPIRED,
        None,
        "offer_not_accepted",
    )
    notice = Notification.objects.get(recipient=customer, kind=Kind.DECISION)
    assert notice.context == {"stage": Stage.EXPIRED, "reason": "offer_not_accepted"}


def test_a_file_still_waiting_for_documents_at_its_deadline_expires(waiting, customer):
    assert expire(T0 + 14 * DAY - MINUTE).expired == ()

    assert expire(T0 + 14 * DAY).expired == ((waiting.pk, Stage.AWAITING_DOCUMENTS),)

    assert stage_of(waiting) == Stage.EXPIRED
    assert last_event(waiting).reason_code == "documents_not_supplied"
    assert Notification.objects.filter(
        recipient=customer, kind=Kind.DECISION, context__reason="documents_not_supplied"
    ).exists()


def test_some_documents_arriving_do_not_move_the_deadline(waiting, customer):
    with time_machine.travel(T0 + 10 * DAY, tick=False):
        upload(waiting, "id_card_front", actor=customer)  # not the bank statement asked for
    assert stage_of(waiting) == Stage.AWAITING_DOCUMENTS

    expire(T0 + 14 * DAY + MINUTE)

    assert stage_of(waiting) == Stage.EXPIRED


def test_a_draft_untouched_for_thirty_days_expires_and_a_touched_one_stays(
    old_draft, customer, dealer, caplog
):
    with time_machine.travel(T0, tick=False):
        touched = make_draft(customer=customer, dealer=dealer, phone="13912345678")
    with time_machine.travel(T0 + 20 * DAY, tick=False):
        services.draft_set_vehicle(
            application=touched,
            dealer=dealer,
            vehicle_make="大众",
            vehicle_model="帕萨特",
            vehicle_price=touched.vehicle_price,
            powertrain=touched.powertrain,
        )

    assert expire(T0 + 30 * DAY - MINUTE).expired == ()
    with caplog.at_level(logging.INFO, logger="applications.services.expiry"):
        result = expire(T0 + 30 * DAY + MINUTE)

    assert result.expired == ((old_draft.pk, Stage.DRAFT),)
    assert stage_of(old_draft) == Stage.EXPIRED
    assert last_event(old_draft).reason_code == "draft_not_submitted"
    assert stage_of(touched) == Stage.DRAFT
    # The record of it names the file, not the person.
    logged = caplog.text
    assert f"Application {old_draft.pk} expired from draft" in logged
    for personal in ("张伟", "13812345678", old_draft.applicant.id_number):
        assert personal not in logged
    assert expire(T0 + 50 * DAY + MINUTE).expired == ((touched.pk, Stage.DRAFT),)


@pytest.mark.parametrize("which", ["old_draft", "offer"])
def test_the_customer_sees_the_expired_file_closed_with_its_reason_and_what_to_do(
    client, customer, which, request
):
    application = request.getfixturevalue(which)
    expire(T0 + 40 * DAY)
    client.force_login(customer)

    response = client.get(detail_url(application), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200  # a draft no more: the timeline, not the form
    page = text_of(response)
    reason = {
        "old_draft": "The application was not submitted in time",
        "offer": "The offer was not accepted in time",
    }
    assert reason[which] in page
    assert "You are welcome to apply again." in page


@pytest.mark.parametrize(
    "step",
    [
        lambda app, customer: services.applicant_set(
            application=app,
            full_name="张伟",
            id_number=app.applicant.id_number,
            phone=app.applicant.phone,
            employment=app.applicant.employment,
            monthly_income=app.applicant.monthly_income,
            monthly_debt=app.applicant.monthly_debt,
        ),
        lambda app, customer: services.consent_record(application=app, kind="credit_check", user=customer),
    ],
    ids=["personal details", "consent"],
)
def test_every_step_of_the_form_counts_as_a_change_of_the_draft(old_draft, customer, step):
    with time_machine.travel(T0 + 29 * DAY, tick=False):
        step(old_draft, customer)

    assert expire(T0 + 30 * DAY + MINUTE).expired == ()
    assert stage_of(old_draft) == Stage.DRAFT


def test_files_that_moved_on_or_have_time_left_are_left_alone(offer, customer, dealer, reviewer, approver):
    with time_machine.travel(T0 + DAY, tick=False):
        services.offer_accept(application=offer, actor=customer)
        later_offer = at_offer(customer, dealer, reviewer, approver)
    before = StageEvent.objects.count()

    assert expire(T0 + 8 * DAY - MINUTE).expired == ()  # the first offer's reply-by date is long past

    assert stage_of(offer) == Stage.CONTRACT_SIGNING
    assert stage_of(later_offer) == Stage.OFFER_PENDING  # valid until T0 + 8 days
    assert StageEvent.objects.count() == before


def test_a_second_pass_does_nothing_more(offer, waiting, old_draft):
    late = T0 + 40 * DAY
    assert len(expire(late).expired) == 3
    events, notices = StageEvent.objects.count(), Notification.objects.count()

    assert expire(late) == ExpiryPass()
    assert expire(late + DAY) == ExpiryPass()

    assert (StageEvent.objects.count(), Notification.objects.count()) == (events, notices)


def test_a_pass_expires_at_most_its_batch_and_says_there_is_more(customer, dealer):
    with time_machine.travel(T0, tick=False):
        drafts = [make_draft(customer=customer, dealer=dealer) for _ in range(3)]

    first = expire(T0 + 31 * DAY, batch=2)
    second = expire(T0 + 31 * DAY, batch=2)

    assert (len(first.expired), first.more) == (2, True)
    assert (len(second.expired), second.more) == (1, False)
    assert {stage_of(d) for d in drafts} == {Stage.EXPIRED}


def test_a_retired_reason_does_not_stop_expiry(offer):
    from applications.models import Reason

    Reason.objects.filter(code="offer_not_accepted").update(is_active=False)

    expire(T0 + 8 * DAY)

    assert stage_of(offer) == Stage.EXPIRED
    assert offer.closing_reason == ""


def test_a_pass_with_nothing_due_costs_five_queries_however_many_files_wait(
    customer, dealer, django_assert_num_queries
):
    """Nothing due: the rules, the savepoint and the lock, the due files, the savepoint's release."""
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            make_draft(customer=customer, dealer=dealer)
    with django_assert_num_queries(5):
        assert expire(T0 + DAY).expired == ()


# --- Limits as configuration data, edited in the admin ------------------------------------------


def admin_form(definition: StageDefinition, **changes) -> dict:
    """The admin's change form for ``definition`` as a browser posts it, with ``changes``."""
    data = {**model_to_dict(definition), **changes}
    data["required_document_types"] = [t.pk for t in data["required_document_types"]]
    form = {}
    for name, value in data.items():
        if name == "id" or value is None or value is False:
            continue  # an empty field, an unticked box: not posted
        form[name] = duration_string(value) if isinstance(value, dt.timedelta) else value
    return form


def test_limits_edited_in_the_admin_take_effect_at_the_next_pass(admin_client, offer, old_draft):
    change = "admin:applications_stagedefinition_change"
    draft_limits = StageDefinition.objects.get(stage=Stage.DRAFT)
    offer_limits = StageDefinition.objects.get(stage=Stage.OFFER_PENDING)

    response = admin_client.post(
        reverse(change, args=[draft_limits.pk]),
        admin_form(draft_limits, expires_when_untouched="10 00:00:00"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    response = admin_client.post(
        reverse(change, args=[offer_limits.pk]),
        admin_form(offer_limits, expires_at_deadline=False, last_reminder_before=None),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors

    assert expire(T0 + 10 * DAY + MINUTE).expired == ((old_draft.pk, Stage.DRAFT),)
    assert stage_of(offer) == Stage.OFFER_PENDING  # past its reply-by date, but offers no longer expire


@pytest.mark.parametrize(
    ("stage", "changes", "field"),
    [
        (Stage.UNDER_REVIEW, {"expires_at_deadline": True}, "expires_at_deadline"),
        (Stage.OFFER_PENDING, {"expires_when_untouched": "30 00:00:00"}, "expires_when_untouched"),
        (Stage.APPROVAL, {"last_reminder_before": "1 00:00:00"}, "last_reminder_before"),
        (Stage.DRAFT, {"last_reminder_before": "-1 00:00:00"}, "last_reminder_before"),
    ],
)
def test_the_admin_refuses_a_limit_that_cannot_apply(admin_client, stage, changes, field):
    definition = StageDefinition.objects.get(stage=stage)
    response = admin_client.post(
        reverse("admin:applications_stagedefinition_change", args=[definition.pk]),
        admin_form(definition, **changes),
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


# --- The task, and two passes at once -----------------------------------------------------------


def test_the_beat_task_runs_the_pass_and_queues_the_next_one_when_more_are_waiting(
    customer, dealer, settings
):
    with time_machine.travel(T0, tick=False):
        drafts = [make_draft(customer=customer, dealer=dealer) for _ in range(2)]
    settings.EXPIRY_BATCH = 1

    with (
        time_machine.travel(T0 + 31 * DAY, tick=False),
        mock.patch.object(tasks.applications_expire, "apply_async") as again,
    ):
        assert tasks.applications_expire() == {"expired": 1, "more": True, "skipped": False}
        again.assert_called_once_with(countdown=1)
        assert tasks.applications_expire() == {"expired": 1, "more": True, "skipped": False}
        again.reset_mock()
        assert tasks.applications_expire() == {"expired": 0, "more": False, "skipped": False}
        again.assert_not_called()
    assert {stage_of(d) for d in drafts} == {Stage.EXPIRED}


@contextlib.contextmanager
def held_by_another_transaction(hold: Callable[[], object]) -> Iterator[None]:
    """Run ``hold`` in a transaction of another thread and connection, kept open until the block ends."""
    holding, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported in the test's thread
            failed.append(exc)
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    holding.wait(timeout=30)
    try:
        assert not failed, failed
        yield
    finally:
        release.set()
        thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_pass_while_another_runs_is_skipped_and_a_file_a_person_holds_waits_for_the_next(customer, dealer):
    with time_machine.travel(T0, tick=False):
        held, free = (make_draft(customer=customer, dealer=dealer) for _ in range(2))
    late = T0 + 31 * DAY

    with held_by_another_transaction(lambda: expire(T0 + DAY)):  # a pass with nothing to do yet
        assert expire(late) == ExpiryPass(skipped=True)
    with held_by_another_transaction(lambda: LoanApplication.objects.select_for_update().get(pk=held.pk)):
        assert expire(late).expired == ((free.pk, Stage.DRAFT),)
    assert stage_of(held) == Stage.DRAFT
    assert expire(late).expired == ((held.pk, Stage.DRAFT),)
    assert StageEvent.objects.filter(application=held, kind=EventKind.TRANSITION).count() == 2
