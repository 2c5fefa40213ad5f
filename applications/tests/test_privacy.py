"""A customer's privacy rights (PIPL): download my data (their own and nobody else's), ask for a
correction (a staff task due on the working calendar), give and withdraw marketing consent, close
the account (refused while a file is open)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessLog
from django.contrib.auth import get_user_model
from django.urls import reverse

from applications import services
from applications.choices import Stage
from applications.models import CalendarDay, CorrectionRequest, LoanApplication
from applications.privacy import open_files
from notifications.models import ChannelPreference, Notification

from .factories import at_offer, in_review, make_draft, text_of, valid_id_number

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRIVACY = reverse("applications:privacy")
EXPORT = reverse("applications:privacy_export")
CLOSE = reverse("applications:privacy_close")


@pytest.fixture(autouse=True)
def _english(client):
    """The pages in English, so the assertions read as the words they check."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def withdrawn(customer, dealer) -> LoanApplication:
    return services.application_withdraw(application=in_review(customer, dealer), actor=customer)


def disbursed(customer, dealer, reviewer, approver, operations, finance) -> LoanApplication:
    application = at_offer(customer, dealer, reviewer, approver)
    application = services.offer_accept(application=application, actor=customer)
    application = services.contract_mark_signed(application=application, actor=operations)
    application = services.lien_mark_registered(application=application, actor=operations)
    return services.disbursement_release(application=application, actor=finance)


# --- Download my data ---------------------------------------------------------------------------


def test_export_holds_the_customers_own_data_and_nobody_elses(client, customer, other_customer, dealer):
    mine = in_review(customer, dealer)
    theirs = make_draft(customer=other_customer, dealer=dealer, phone="13900001111")
    services.applicant_set(
        application=theirs,
        full_name="李娜",
        id_number=valid_id_number(birth="19800101", serial="001"),
        phone="13900001111",
        employment="employed",
        employer="上海某公司",
        monthly_income=Decimal("9000"),
        monthly_debt=Decimal("0"),
    )
    client.force_login(customer)

    response = client.get(EXPORT, {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="loan-portal-my-data-')
    assert response["Cache-Control"] == "private, no-store"
    data = json.loads(response.content)
    assert set(data) == {
        "exported_at",
        "account",
        "applications",
        "correction_requests",
        "notification_preferences",
    }
    assert data["account"]["user_name"] == "customer"
    assert data["account"]["email"] == "customer@example.cn"
    assert data["account"]["marketing_consent"] == {
        "given": False,
        "given_at": None,
        "notice_version": "",
        "withdrawn_at": None,
    }
    assert [app["reference"] for app in data["applications"]] == [mine.display_reference]
    app = data["applications"][0]
    assert app["applicant"]["full_name"] == "张伟"
    assert app["applicant"]["mobile_number"] == "13812345678"
    assert {c["kind"] for c in app["consents"]} == {
        "Consent to a credit bureau check",
        "Acceptance of the privacy notice",
    }
    # Names, types and dates of the documents: never the files.
    assert {d["name"] for d in app["documents"]} == {
        "driving_licence.pdf",
        "id_card_back.pdf",
        "id_card_front.pdf",
        "income_proof.pdf",
    }
    assert all(set(d) == {"name", "type", "status", "uploaded_at", "size_bytes"} for d in app["documents"])
    # The history in the timeline's words, oldest first, without staff notes or names.
    history = [entry["what"] for entry in app["history"]]
    assert history[0] == "Application started"
    assert "Document received: Driving licence" in history and "Application submitted" in history
    assert data["notification_preferences"] == {
        "email": True,
        "sms": True,
        "inbox_messages": Notification.objects.filter(recipient=customer).count(),
    }
    body = response.content.decode()
    assert "李娜" not in body and "13900001111" not in body and theirs.display_reference not in body


def test_printable_export_reads_as_a_page_in_a_fixed_number_of_queries(
    client, customer, dealer, django_assert_num_queries
):
    in_review(customer, dealer)
    withdrawn(customer, dealer)
    client.force_login(customer)
    client.get(EXPORT)  # the cached configuration loaded
    # user (the session comes from the cache); applications (applicant, dealer, product joined);
    # their consents; documents; events; correction requests; the notification preference and
    # the inbox's size; the unread count in the header.
    with django_assert_num_queries(9):
        response = client.get(EXPORT)
    text = text_of(response)
    assert "My data" in text and "张伟" in text and "The application was withdrawn" in text
    assert "Print" in text


def test_privacy_pages_ask_for_sign_in_and_refuse_staff(client, reviewer):
    for url in (PRIVACY, EXPORT, CLOSE):
        assert client.get(url).status_code == 302
    client.force_login(reviewer)
    assert client.get(EXPORT).status_code == 403


# --- Corrections --------------------------------------------------------------------------------


def test_correction_request_is_a_staff_task_due_on_the_working_calendar(client, customer, dealer, settings):
    settings.CORRECTION_WORKING_DAYS = 2
    application = in_review(customer, dealer)
    # Friday 4 December 2026 at 17:00; Monday the 7th is a public holiday: two working days (9 h
    # each) are Friday's last hour, Tuesday and Wednesday until 17:00.
    asked = dt.datetime(2026, 12, 4, 17, tzinfo=SHANGHAI)
    CalendarDay.objects.create(date=dt.date(2026, 12, 7), is_working=False, note="test holiday")

    correction = services.correction_request_create(
        customer=customer,
        subject=CorrectionRequest.Subject.NAME,
        details="My name is 张伟伟",
        application=application,
        now=asked,
    )

    assert correction.due_at == dt.datetime(2026, 12, 9, 17, tzinfo=SHANGHAI)
    assert correction.status == CorrectionRequest.Status.OPEN


def test_customer_asks_for_a_correction_and_sees_its_answer(client, customer, dealer, manager):
    application = in_review(customer, dealer)
    client.force_login(customer)

    response = client.post(
        reverse("applications:privacy_correction"),
        {"subject": "employment", "application": application.reference, "details": "New employer: 某银行"},
    )

    assert response.status_code == 302
    correction = CorrectionRequest.objects.get()
    assert (correction.customer, correction.application, correction.details) == (
        customer,
        application,
        "New employer: 某银行",
    )
    assert "Being handled" in text_of(client.get(PRIVACY))
    services.correction_request_answer(
        request=correction, actor=manager, status="done", response="Corrected on your application."
    )
    page = text_of(client.get(PRIVACY))
    assert "Corrected" in page and "Corrected on your application." in page


def test_a_correction_cannot_name_another_customers_file(client, customer, other_customer, dealer):
    theirs = in_review(other_customer, dealer)
    client.force_login(customer)
    response = client.post(
        reverse("applications:privacy_correction"),
        {"subject": "name", "application": theirs.reference, "details": "x"},
    )
    assert response.status_code == 400
    assert not CorrectionRequest.objects.exists()


def test_only_managers_answer_corrections_and_the_admin_lists_them_due_first(
    client, customer, reviewer, manager
):
    first = services.correction_request_create(customer=customer, subject="phone", details="13800000000")
    with pytest.raises(services.lifecycle.PermissionDenied):
        services.correction_request_answer(request=first, actor=reviewer, status="done", response="")
    client.force_login(manager)
    changelist = client.get(reverse("admin:applications_correctionrequest_changelist"))
    assert changelist.status_code == 200
    response = client.post(
        reverse("admin:applications_correctionrequest_change", args=[first.pk]),
        {"status": "refused", "response": "The number on file is the one you gave us."},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.resolved_by) == ("refused", manager)


# --- Marketing consent --------------------------------------------------------------------------


def test_marketing_consent_is_given_and_withdrawn_with_its_times(client, customer):
    client.force_login(customer)
    client.post(reverse("applications:privacy_marketing"), {"consent": "give"})
    customer.refresh_from_db()
    assert customer.marketing_consent_at is not None and customer.marketing_notice_version == "2026-11"

    client.post(reverse("applications:privacy_marketing"), {"consent": "withdraw"})

    customer.refresh_from_db()
    assert customer.marketing_consent_at is None and customer.marketing_withdrawn_at is not None
    assert "You withdrew your consent" in text_of(client.get(PRIVACY))


# --- Closing the account ------------------------------------------------------------------------


def test_close_is_refused_with_the_reason_while_a_file_is_open(client, customer, dealer):
    application = in_review(customer, dealer)
    client.force_login(customer)

    page = client.get(CLOSE)
    refused = client.post(CLOSE)

    assert "cannot be closed yet" in text_of(page)
    assert application.display_reference in text_of(page)
    assert refused.status_code == 409
    with pytest.raises(services.AccountCloseRefused, match=application.display_reference):
        services.account_close(user=customer)
    customer.refresh_from_db()
    assert customer.is_active


def test_a_disbursed_loan_is_open_until_its_last_instalment(
    customer, dealer, reviewer, approver, operations, finance
):
    paid_out = dt.datetime(2026, 1, 5, 10, tzinfo=SHANGHAI)
    with time_machine.travel(paid_out, tick=False):
        application = disbursed(customer, dealer, reviewer, approver, operations, finance)
    assert application.stage == Stage.DISBURSED
    assert list(open_files(user=customer, now=paid_out + dt.timedelta(days=365))) == [application]
    assert not open_files(user=customer, now=paid_out + dt.timedelta(days=3 * 366)).exists()


def test_closing_the_account_signs_out_and_removes_personal_data(client, customer, dealer):
    kept = withdrawn(customer, dealer)
    unsent = make_draft(customer=customer, dealer=dealer)
    Notification.objects.create(recipient=customer, application=kept, kind="decision", dedupe_key="t:1")
    ChannelPreference.objects.create(user=customer, email=False, sms=True)
    correction = services.correction_request_create(customer=customer, subject="name", details="张大伟")
    AccessLog.objects.create(username=customer.username, ip_address="203.0.113.9", user_agent="phone")
    client.force_login(customer)

    response = client.post(CLOSE)

    assert response.status_code == 302
    assert not AccessLog.objects.filter(username="customer").exists()
    assert client.get(PRIVACY).status_code == 302  # signed out
    account = get_user_model().objects.get(pk=customer.pk)
    assert (account.username, account.email, account.phone, account.phone_hash) == (
        f"closed-{customer.pk}",
        "",
        "",
        None,
    )
    assert not account.is_active and not account.has_usable_password() and account.closed_at
    assert not LoanApplication.objects.filter(pk=unsent.pk).exists()
    assert LoanApplication.objects.filter(pk=kept.pk).exists()  # kept for the retention period
    assert not Notification.objects.filter(recipient=customer).exists()
    assert not ChannelPreference.objects.filter(user=customer).exists()
    correction.refresh_from_db()
    assert (correction.status, correction.details) == ("cancelled", "")
    assert not client.login(username="customer", password="a-Long-passphrase-42")


def test_privacy_page_queries(client, customer, dealer, django_assert_num_queries):
    in_review(customer, dealer)
    services.correction_request_create(customer=customer, subject="name", details="x")
    client.force_login(customer)
    # user (the session comes from the cache); the customer's files (the correction form); their
    # correction requests; the open files' count; the unread count in the header.
    with django_assert_num_queries(5):
        response = client.get(PRIVACY)
    assert response.status_code == 200


def test_closing_the_account_removes_the_codes_sent_to_its_number(customer):
    from accounts.otp.models import OneTimeCode
    from common.pii import keyed_hash

    customer.set_phone("13812345678")
    customer.save()
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    OneTimeCode.objects.create(
        purpose="signin",
        target_hash=keyed_hash("13812345678"),
        salt="s",
        created_at=now,
        expires_at=now,
    )

    services.account_close(user=customer)

    assert not OneTimeCode.objects.exists()
