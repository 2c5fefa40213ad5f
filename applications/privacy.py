"""Reads for a customer's privacy rights (PIPL): what we hold about them, which of their files are
still open, and what the other apps hold (``settings.LOANPORTAL_PRIVACY_PARTS``).

The writes (a correction request, closing the account, the retention pass) are in
``services.privacy`` and ``services.retention``; the customer's page is ``views.privacy``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Func, Q, QuerySet
from django.utils.module_loading import import_string

from .choices import FINAL_STAGES, Stage
from .models import Consent, CorrectionRequest, Document, DocumentType, LoanApplication, Reason, StageEvent
from .reference import reference_data
from .selectors import _CUSTOMER_EVENT_FIELDS, CUSTOMER_EVENT_KINDS

if TYPE_CHECKING:
    from accounts.models import User


class PrivacyPart(Protocol):
    """What another app holds about a person: listed in ``settings.LOANPORTAL_PRIVACY_PARTS``."""

    key: str
    title: Any  # a (lazy) heading for the printable page
    labels: dict[str, Any]  # a (lazy) label for each key ``export`` returns
    export: Callable[..., dict[str, Any]]  # (*, user) -> what "download my data" includes
    erase: Callable[..., None]  # (*, user) -> removes it when the account is closed


@cache
def _load(paths: tuple[str, ...]) -> tuple[PrivacyPart, ...]:
    return tuple(import_string(path) for path in paths)


def privacy_parts() -> tuple[PrivacyPart, ...]:
    return _load(tuple(settings.LOANPORTAL_PRIVACY_PARTS))


# --- Which files are open -----------------------------------------------------------------------


def _running_loans_sql(now: dt.datetime) -> QuerySet[LoanApplication]:
    """The ids of disbursed loans whose last instalment is not yet due at ``now``: the customer is
    still repaying (the portal keeps no repayments, so the term decides: paid out plus the
    approved term)."""
    end = ExpressionWrapper(
        F("closed_at")
        + Func(
            F("approved_term_months"),
            template="make_interval(months => %(expressions)s)",
            output_field=DurationField(),
        ),
        output_field=DateTimeField(),
    )
    return (
        LoanApplication.objects.filter(stage=Stage.DISBURSED, closed_at__isnull=False)
        .alias(loan_ends_at=end)
        .filter(loan_ends_at__gt=now)
        .values("pk")
    )


def open_files(*, user: User, now: dt.datetime) -> QuerySet[LoanApplication]:
    """The customer's files that keep an account open (closing it is refused while there are any):
    every submitted file still in progress (from submission to disbursement, the offer and the
    documents asked for included), and a disbursed loan until its last instalment falls due.
    Drafts never sent do not count (closing the account deletes them); rejected, withdrawn and
    expired files are closed."""
    in_progress = ~Q(stage__in=FINAL_STAGES) & ~Q(stage=Stage.DRAFT)
    running = Q(pk__in=_running_loans_sql(now))
    return LoanApplication.objects.filter(customer=user).filter(in_progress | running).order_by("-created_at")


# --- Download my data ---------------------------------------------------------------------------


@dataclass
class ApplicationData:
    """One application as held: the row (applicant, dealer, product joined), its consents, its
    documents (names, types, dates: never the files) and its customer-visible events."""

    application: LoanApplication
    consents: list[Consent] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    events: list[StageEvent] = field(default_factory=list)  # no staff notes, no actors


@dataclass
class CustomerData:
    user: User
    applications: list[ApplicationData]
    corrections: list[CorrectionRequest]
    reasons: dict[str, Reason]  # the catalogue the events name, by code
    document_types: dict[str, DocumentType]  # by code
    parts: dict[str, dict[str, Any]]  # what the other apps hold, by part key


def customer_data(*, user: User) -> CustomerData:
    """Everything we hold about this customer and nobody else, in a fixed number of queries
    whatever the number of files: the applications (applicant, dealer and product joined), their
    consents, documents and customer-visible events (one query each over all the files), the
    correction requests, then each privacy part's own (notifications: its preference). The
    configuration the events name comes from the cached ``reference_data``."""
    applications = list(
        LoanApplication.objects.filter(customer=user)
        .select_related("applicant", "dealer", "product")
        .order_by("created_at", "pk")
    )
    by_pk = {app.pk: ApplicationData(app) for app in applications}
    if by_pk:
        for consent in Consent.objects.filter(application__in=by_pk).order_by("granted_at", "pk"):
            by_pk[consent.application_id].consents.append(consent)
        documents = (
            Document.objects.filter(application__in=by_pk)
            .select_related("document_type")
            .defer("file")
            .order_by("uploaded_at", "pk")
        )
        for document in documents:
            by_pk[document.application_id].documents.append(document)
        events = (
            StageEvent.objects.filter(application__in=by_pk, kind__in=CUSTOMER_EVENT_KINDS)
            .only(*_CUSTOMER_EVENT_FIELDS)
            .order_by("application_id", "sequence")
        )
        for event in events:
            by_pk[event.application_id].events.append(event)
    reference = reference_data()
    return CustomerData(
        user=user,
        applications=list(by_pk.values()),
        corrections=list(customer_corrections(user=user)),
        reasons=reference.reasons,
        document_types=reference.document_types,
        parts={part.key: part.export(user=user) for part in privacy_parts()},
    )


def customer_corrections(*, user: User) -> QuerySet[CorrectionRequest]:
    """The customer's correction requests, newest first (1 query, the application joined)."""
    return (
        CorrectionRequest.objects.filter(customer=user)
        .select_related("application")
        .order_by("-created_at", "-pk")
    )
