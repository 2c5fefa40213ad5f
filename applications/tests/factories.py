"""Builders for the domain core's tests, and for the other apps' tests that need an application:
dealers, drafts and applications at a stage, built through the services (``record_stays`` alone
writes history rows by hand, for speed); and the few helpers that read what was built."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django.asserts import assertRedirects

from applications import services
from applications.choices import Employment, EventKind, Powertrain, Stage
from applications.history import stay_from_chain
from applications.models import (
    Consent,
    Dealer,
    Document,
    DocumentType,
    LoanApplication,
    LoanProduct,
    Reason,
    StageEvent,
)
from common.pii import id_check_character


def valid_id_number(region: str = "110101", birth: str = "19900307", serial: str = "123") -> str:
    first17 = f"{region}{birth}{serial}"
    return first17 + id_check_character(first17)


class DealerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dealer-{n}")
    name = factory.Sequence(lambda n: f"Dealer {n} Motors")
    region = "Beijing"


def make_draft(
    *,
    customer,
    dealer: Dealer,
    product_code: str = "standard",
    powertrain: str = Powertrain.FUEL,
    vehicle_price: Decimal = Decimal("200000.00"),
    down_payment: Decimal = Decimal("60000.00"),
    requested_amount: Decimal = Decimal("140000.00"),
    term_months: int = 36,
    id_number: str | None = None,
    phone: str = "13812345678",
    monthly_income: Decimal = Decimal("25000.00"),
    monthly_debt: Decimal = Decimal("2000.00"),
    consents: bool = True,
    documents: bool = False,
    created_by=None,
) -> LoanApplication:
    application = services.application_create_draft(
        created_by=created_by or customer,
        customer=customer,
        dealer=dealer,
        product=LoanProduct.objects.get(code=product_code),
        vehicle_make="比亚迪" if powertrain != Powertrain.FUEL else "大众",
        vehicle_model="汉 EV" if powertrain != Powertrain.FUEL else "帕萨特",
        vehicle_price=vehicle_price,
        powertrain=powertrain,
        down_payment=down_payment,
        requested_amount=requested_amount,
        term_months=term_months,
    )
    services.applicant_set(
        application=application,
        full_name="张伟",
        id_number=id_number or valid_id_number(),
        phone=phone,
        employment=Employment.EMPLOYED,
        employer="北京某科技有限公司",
        monthly_income=monthly_income,
        monthly_debt=monthly_debt,
    )
    if consents:
        for kind in Consent.Kind.values:
            services.consent_record(application=application, kind=kind, user=created_by or customer)
    if documents:
        put_required_documents(application, uploaded_by=created_by or customer)
    return application


def put_required_documents(application: LoanApplication, *, uploaded_by) -> None:
    """Test set-up: every document the review requires, on file and awaiting its check."""
    for doc_type in DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW):
        Document.objects.create(
            application=application,
            document_type=doc_type,
            file=f"documents/{application.reference}/test",
            original_name=f"{doc_type.code}.pdf",
            content_type="application/pdf",
            size=1000,
            uploaded_by=uploaded_by,
        )


def record_stays(
    *,
    customer,
    dealer: Dealer,
    stage: str,
    durations,
    left_at,
    product_code: str = "standard",
) -> LoanApplication:
    """Test data for the delay prediction: a draft of ``product_code`` whose history holds one stay
    in ``stage`` of each duration, every stay ending at ``left_at``.

    The history rows are written directly, not through the services: only their stages and times
    matter here, hundreds of stays take a fraction of a second, and the hash chain is left as it
    is. Each stay enters ``stage`` from the pre-check (a stage this history never enters, so it
    adds no stay of its own) and leaves it for "rejected" (final); the leaving transition records
    when the stay started, as the services do.
    """
    application = make_draft(customer=customer, dealer=dealer, product_code=product_code)
    sequence = application.events.count()
    events = []
    for duration in durations:
        for from_stage, to_stage, at, stay_started_at in (
            (Stage.CREDIT_CHECK, stage, left_at - duration, None),
            (stage, Stage.REJECTED, left_at, left_at - duration),
        ):
            sequence += 1
            events.append(
                StageEvent(
                    application=application,
                    sequence=sequence,
                    kind=EventKind.TRANSITION,
                    transition="synthetic",
                    from_stage=from_stage,
                    to_stage=to_stage,
                    created_at=at,
                    stay_started_at=stay_started_at,
                    prev_hash="",
                    hash="",
                )
            )
    StageEvent.objects.bulk_create(events)
    return application


# --- Applications at a stage, built through the services -----------------------------------------


PDF = b"%PDF-1.4\n% a test document\n"
REVIEW_DOCUMENTS = ("driving_licence", "id_card_back", "id_card_front", "income_proof")


def upload(application: LoanApplication, code: str, *, actor):
    return services.document_upload(
        application=application,
        document_type=DocumentType.objects.get(code=code),
        uploaded_file=SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf"),
        actor=actor,
    )


def in_review(customer, dealer, *, documents=REVIEW_DOCUMENTS, now=None) -> LoanApplication:
    """Submitted with the review's documents on file, pre-check passed: at credit review."""
    application = make_draft(customer=customer, dealer=dealer)
    for code in documents:
        upload(application, code, actor=customer)
    application = services.application_submit(application=application, actor=customer, now=now)
    application = services.precheck_start(application=application, now=now)
    return services.precheck_pass(application=application, now=now)


def awaiting_documents(customer, dealer, reviewer) -> LoanApplication:
    """The reviewer asked for a bank statement (reason: more proof of income)."""
    return services.review_request_documents(
        application=in_review(customer, dealer),
        actor=reviewer,
        document_types=[DocumentType.objects.get(code="bank_statement")],
        reason=Reason.objects.get(code="more_income_proof"),
        note="internal: salary looks irregular",
    )


def at_offer(customer, dealer, reviewer, approver, *, now=None) -> LoanApplication:
    """Approved: ¥140,000.00 at 5.88 % over 36 months, waiting for the customer's answer."""
    application = services.review_recommend(
        application=in_review(customer, dealer, now=now), actor=reviewer, note="solid file", now=now
    )
    return services.approval_approve(
        application=application,
        actor=approver,
        amount=Decimal("140000.00"),
        rate=Decimal("0.0588"),
        term_months=36,
        now=now,
    )


def grow_history(application: LoanApplication, customer, *, documents: int, events: int) -> None:
    """``documents`` more uploads and ``events`` more history rows: a long timeline."""
    for index in range(documents):
        upload(application, REVIEW_DOCUMENTS[index % len(REVIEW_DOCUMENTS)], actor=customer)
    for _ in range(events):
        services.application_event_add(
            application=application, kind=EventKind.DOCUMENT, data={"action": "uploaded"}
        )


# --- Reading what was built ----------------------------------------------------------------------


def detail_url(application: LoanApplication) -> str:
    return reverse("applications:detail", args=[application.reference])


def text_of(response) -> str:
    """The page's visible words, tags removed and whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def stays_as_the_chain_tells(events: list[StageEvent]) -> list[tuple]:
    """What each event of a history should record as the stay it ends (started, due), read from
    the transitions before it (``history.stay_from_chain``)."""
    told, entered = [], None
    for event in events:
        told.append(stay_from_chain(event, entered))
        if event.kind == EventKind.TRANSITION:
            entered = event
    return told


# --- The apply pages: each step's form data, and drafts walked through the pages ----------------

# A fixed "today" (Beijing time) so the age rules do not depend on when the suite runs.
APPLY_TODAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
APPLY_START = "/applications/new/"
CONSENTS = {"credit_check": "on", "privacy_notice": "on"}


def personal_data(**changes) -> dict:
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


def vehicle_data(dealer: Dealer, **changes) -> dict:
    return {
        "dealer": dealer.pk,
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": "200000",
        "powertrain": Powertrain.FUEL,
        **changes,
    }


def loan_data(product_code: str = "standard", **changes) -> dict:
    return {
        "product": LoanProduct.objects.get(code=product_code).pk,
        "down_payment": "60000",
        "requested_amount": "140000",
        "term_months": "36",
        **changes,
    }


def apply_step_url(application: LoanApplication, step: str) -> str:
    return reverse("applications:apply_step", args=[application.reference, step])


def apply_review_url(application: LoanApplication) -> str:
    return reverse("applications:apply_review", args=[application.reference])


def start_draft(client, **changes) -> LoanApplication:
    """Step one through the page: the draft it creates."""
    response = client.post(APPLY_START, personal_data(**changes))
    application = LoanApplication.objects.latest("created_at")
    assertRedirects(response, apply_step_url(application, "vehicle"))
    return application


def draft_with_vehicle(client, dealer: Dealer, **vehicle_changes) -> LoanApplication:
    application = start_draft(client)
    response = client.post(apply_step_url(application, "vehicle"), vehicle_data(dealer, **vehicle_changes))
    assertRedirects(response, apply_step_url(application, "loan"))
    application.refresh_from_db()
    return application


def complete_draft(client, dealer: Dealer) -> LoanApplication:
    """All four steps through the pages: a draft ready for the review page."""
    application = draft_with_vehicle(client, dealer)
    client.post(apply_step_url(application, "loan"), loan_data())
    client.post(apply_step_url(application, "consent"), CONSENTS)
    return application


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


# --- A dealer's walk-in buyer (services.dealer) --------------------------------------------------

BUYER_PHONE = "13912345678"


def walk_in_fields(product_code: str = "standard", **changes) -> dict:
    """What a dealer enters for a walk-in buyer's car and loan (``walk_in_start``'s loan fields)."""
    return {
        "vehicle_make": "大众",
        "vehicle_model": "帕萨特",
        "vehicle_price": Decimal("200000.00"),
        "powertrain": Powertrain.FUEL,
        "product": LoanProduct.objects.get(code=product_code),
        "down_payment": Decimal("60000.00"),
        "requested_amount": Decimal("140000.00"),
        "term_months": 36,
        **changes,
    }


def start_walk_in(dealer: Dealer, actor, *, buyer_phone: str = BUYER_PHONE, **changes) -> LoanApplication:
    return services.walk_in_start(
        dealer=dealer, actor=actor, buyer_name="李娜", buyer_phone=buyer_phone, **walk_in_fields(**changes)
    )


def claim_token_from_sms(outbox) -> str:
    """The token in the newest claim link texted (``common.sms.outbox``)."""
    for sent in reversed(outbox):
        found = re.search(r"/claim/([A-Za-z0-9_-]+)/", sent.message.text)
        if found:
            return found.group(1)
    raise AssertionError("no claim link was texted")


def code_from_sms(outbox) -> str:
    for sent in reversed(outbox):
        found = re.search(r"\b(\d{6})\b", sent.message.text)
        if found and "/claim/" not in sent.message.text:
            return found.group(1)
    raise AssertionError("no code was texted")
