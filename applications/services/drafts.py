"""Drafts: creating an application and filling in its details before submission."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import EventKind, Stage
from ..models import (
    Applicant,
    Consent,
    Dealer,
    LoanApplication,
    LoanProduct,
)
from ..pii import birth_date_from_id, keyed_hash, validate_id_number, validate_phone
from .lifecycle import TransitionRefused, event_record

# --- Creating and submitting --------------------------------------------------------------------


@transaction.atomic
def application_create_draft(
    *,
    created_by,
    customer=None,
    dealer: Dealer,
    product: LoanProduct,
    vehicle_make: str,
    vehicle_model: str,
    vehicle_price: Decimal,
    powertrain: str,
    down_payment: Decimal,
    requested_amount: Decimal,
    term_months: int,
    now: dt.datetime | None = None,
) -> LoanApplication:
    now = now or timezone.now()
    application = LoanApplication(
        customer=customer,
        created_by=created_by,
        dealer=dealer,
        product=product,
        vehicle_make=vehicle_make,
        vehicle_model=vehicle_model,
        vehicle_price=vehicle_price,
        powertrain=powertrain,
        down_payment=down_payment,
        requested_amount=requested_amount,
        term_months=term_months,
        stage_entered_at=now,
        created_at=now,
    )
    application.save(force_insert=True)
    event_record(
        application=application,
        kind=EventKind.TRANSITION,
        from_stage="",
        to_stage=Stage.DRAFT,
        actor=created_by,
        transition_name="create",
        now=now,
    )
    application.save(update_fields=["event_count", "history_head"])
    return application


def applicant_set(
    *,
    application: LoanApplication,
    full_name: str,
    id_number: str,
    phone: str,
    employment: str,
    employer: str = "",
    monthly_income: Decimal,
    monthly_debt: Decimal,
) -> Applicant:
    """Record or replace the applicant's details while the application is a draft."""
    if application.stage != Stage.DRAFT:
        raise TransitionRefused(_("Personal details can only be changed before submission."))
    id_number = validate_id_number(id_number)
    phone = validate_phone(phone)
    if monthly_income < 0 or monthly_debt < 0:
        raise ValidationError(_("Income and debt cannot be negative."))
    applicant, _created = Applicant.objects.update_or_create(
        application=application,
        defaults={
            "full_name": full_name.strip(),
            "id_number": id_number,
            "id_number_hash": keyed_hash(id_number),
            "birth_date": birth_date_from_id(id_number),
            "phone": phone,
            "phone_hash": keyed_hash(phone),
            "employment": employment,
            "employer": employer,
            "monthly_income": monthly_income,
            "monthly_debt": monthly_debt,
        },
    )
    return applicant


def consent_record(
    *, application: LoanApplication, kind: str, user, now: dt.datetime | None = None
) -> Consent:
    consent, _created = Consent.objects.get_or_create(
        application=application,
        kind=kind,
        notice_version=settings.PRIVACY_NOTICE_VERSION,
        defaults={"granted_by": user, "granted_at": now or timezone.now()},
    )
    return consent
