"""Reads of the API: a dealership's files, each only through its dealership (another
dealership's reference answers 404 like one that does not exist); a partner's open steps."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from applications.choices import OPEN_PARTNER_STATUSES
from applications.models import Dealer, LoanApplication, PartnerStep, normalise_reference


def dealer_files(
    *, dealer: Dealer, updated_since: dt.datetime | None = None, stage: str | None = None
) -> QuerySet[LoanApplication]:
    """The dealership's files with the buyer (for the masked name and phone: the applicant's, or the
    walk-in claim's until the buyer gives their own) joined: one query per page. Drafts count: a
    file the dealer's system started is a draft until the buyer completes and submits it."""
    files = LoanApplication.objects.filter(dealer=dealer).select_related("applicant", "walk_in")
    if updated_since is not None:
        files = files.filter(updated_at__gt=updated_since)
    if stage:
        files = files.filter(stage=stage)
    return files


def dealer_file_get(*, dealer: Dealer, reference: str) -> LoanApplication | None:
    """One of the dealership's files by its reference as typed (the dash, case, full-width digits
    are canonicalised), with what the timeline reads joined; None when it is not theirs."""
    return (
        LoanApplication.objects.filter(dealer=dealer, reference=normalise_reference(reference))
        .select_related("applicant", "product", "delay_reason")
        .first()
    )


def open_partner_step_get(*, reference: str, kind: str) -> PartnerStep | None:
    """The latest step of ``kind`` on the file ``reference`` names (as typed), when it is open
    (requested or in progress); None otherwise, whoever's file it is. A partner's key reaches a
    file only this way."""
    step = (
        PartnerStep.objects.filter(application__reference=normalise_reference(reference), kind=kind)
        .order_by("-requested_at", "-pk")
        .first()
    )
    return step if step is not None and step.status in OPEN_PARTNER_STATUSES else None
