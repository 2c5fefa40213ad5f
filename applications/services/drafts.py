"""Drafts: creating an application and filling in its details, step by step, before submission.

A customer's draft is created as soon as the personal details are valid (step 1) and filled in by
one service per step: ``applicant_set`` (personal), ``draft_set_vehicle`` (vehicle and dealer),
``draft_set_loan`` (product, down payment, amount, term) and ``consent_record``. Each refuses once the
application has left the draft stage, and each validates everything before writing anything: a
``ValidationError`` carries a dict of form field → message, so a view can show every message next
to its field.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from common.money import yuan
from common.pii import birth_date_from_id, keyed_hash, validate_id_number, validate_phone

from ..choices import NEW_ENERGY_POWERTRAINS, EventKind, Powertrain, Stage, income_band_of
from ..models import (
    Applicant,
    Consent,
    Dealer,
    LoanApplication,
    LoanProduct,
)
from ..precheck import MAX_AGE_AT_LOAN_END, MIN_AGE, add_months, age_on
from .lifecycle import TransitionRefused, event_record

if TYPE_CHECKING:
    from accounts.models import User


def _percent(ratio: Decimal) -> str:
    """0.150 → 15%, 0.125 → 12.5%."""
    return f"{(ratio * 100).normalize():f}%"


def _locked_draft(application: LoanApplication) -> LoanApplication:
    """The application's row, locked until the caller's transaction ends, provided it is still a
    draft: the caller's copy may be stale (submitted in another tab since)."""
    locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
    if locked.stage != Stage.DRAFT:
        raise TransitionRefused(_("This application has been submitted and can no longer be changed."))
    return locked


# --- Creating -----------------------------------------------------------------------------------


@transaction.atomic
def application_create_draft(
    *,
    created_by: User,
    customer: User | None = None,
    dealer: Dealer | None = None,
    product: LoanProduct | None = None,
    vehicle_make: str = "",
    vehicle_model: str = "",
    vehicle_price: Decimal | None = None,
    powertrain: str = "",
    down_payment: Decimal | None = None,
    requested_amount: Decimal | None = None,
    term_months: int | None = None,
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Create a draft with its first history event. Vehicle and loan may be left for later steps
    (the customer's form fills them in through ``draft_set_vehicle`` and ``draft_set_loan``); a
    caller that already knows them, such as a dealer's system, may pass them here."""
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


# --- Step 1: personal details -------------------------------------------------------------------


def applicant_age_error(
    *, birth_date: dt.date, term_months: int | None = None, today: dt.date | None = None
) -> str | None:
    """Why this person cannot borrow (too young today, or too old when the loan ends), or None.

    Without a term only today's age is checked: nobody older than the limit today can be younger
    than it at the end of any loan. The pre-check applies the same rule again at submission.
    """
    today = today or timezone.localdate()
    age_now = age_on(birth_date, today)
    if age_now < MIN_AGE:
        return _("Applicants must be at least %(min)s years old.") % {"min": MIN_AGE}
    if term_months is None:
        if age_now >= MAX_AGE_AT_LOAN_END:
            return _("Applicants must be younger than %(max)s to repay a loan before that age.") % {
                "max": MAX_AGE_AT_LOAN_END
            }
        return None
    age_at_end = age_on(birth_date, add_months(today, term_months))
    if age_at_end > MAX_AGE_AT_LOAN_END:
        return _("You would be %(age)s when this loan ends; the limit is %(max)s. Choose a shorter term.") % {
            "age": age_at_end,
            "max": MAX_AGE_AT_LOAN_END,
        }
    return None


@transaction.atomic
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
    application = _locked_draft(application)
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
            "income_band": income_band_of(monthly_income),
            "monthly_debt": monthly_debt,
        },
    )
    application.save(update_fields=["updated_at"])  # a change: the draft's expiry counts from it
    return applicant


# --- Step 2: vehicle and dealer -----------------------------------------------------------------


@transaction.atomic
def draft_set_vehicle(
    *,
    application: LoanApplication,
    dealer: Dealer,
    vehicle_make: str,
    vehicle_model: str,
    vehicle_price: Decimal,
    powertrain: str,
) -> LoanApplication:
    """Record the vehicle and the dealer selling it.

    A loan chosen earlier that no longer fits the vehicle (a fuel car now, with the green product;
    a lower price than the down payment) is cleared, so the loan step must be filled in again; a
    loan that still fits is kept.
    """
    application = _locked_draft(application)
    errors: dict[str, str] = {}
    vehicle_make, vehicle_model = vehicle_make.strip(), vehicle_model.strip()
    if not vehicle_make:
        errors["vehicle_make"] = _("Enter the make of the vehicle.")
    if not vehicle_model:
        errors["vehicle_model"] = _("Enter the model of the vehicle.")
    if vehicle_price is None or vehicle_price <= 0:
        errors["vehicle_price"] = _("Enter the vehicle's price in yuan.")
    if powertrain not in Powertrain.values:
        errors["powertrain"] = _("Choose the vehicle's powertrain.")
    if errors:
        raise ValidationError(errors)

    application.dealer = dealer
    application.vehicle_make = vehicle_make
    application.vehicle_model = vehicle_model
    application.vehicle_price = vehicle_price
    application.powertrain = powertrain
    fields = ["dealer", "vehicle_make", "vehicle_model", "vehicle_price", "powertrain", "updated_at"]
    if application.has_loan():
        product, down_payment = application.product, application.down_payment
        requested_amount, term_months = application.requested_amount, application.term_months
        assert product is not None and down_payment is not None  # has_loan(): all four are set
        assert requested_amount is not None and term_months is not None
        if _loan_errors(
            application=application,
            product=product,
            down_payment=down_payment,
            requested_amount=requested_amount,
            term_months=term_months,
        ):
            application.product = None
            application.down_payment = application.requested_amount = application.term_months = None
            fields += ["product", "down_payment", "requested_amount", "term_months"]
    application.save(update_fields=fields)
    return application


# --- Step 3: the loan ---------------------------------------------------------------------------


def minimum_down_payment(*, product: LoanProduct, vehicle_price: Decimal, powertrain: str) -> Decimal:
    """The smallest down payment the product accepts for this vehicle, rounded up to the fen."""
    minimum = vehicle_price * product.min_down_payment_ratio_for(powertrain)
    return minimum.quantize(Decimal("0.01"), rounding=ROUND_UP)


def products_for(powertrain: str) -> QuerySet[LoanProduct]:
    """Active products a vehicle with this powertrain may be financed with: green products only
    for new-energy vehicles."""
    products = LoanProduct.objects.filter(is_active=True)
    if powertrain not in NEW_ENERGY_POWERTRAINS:
        products = products.filter(new_energy_only=False)
    return products


def _loan_errors(
    *,
    application: LoanApplication,
    product: LoanProduct,
    down_payment: Decimal,
    requested_amount: Decimal,
    term_months: int,
    today: dt.date | None = None,
) -> dict[str, str]:
    """Every reason this loan does not fit the product, the vehicle and the applicant, by field."""
    errors: dict[str, str] = {}
    price, powertrain = application.vehicle_price, application.powertrain
    assert price is not None  # the vehicle step comes first (has_vehicle())
    if not product.is_active:
        errors["product"] = _("This loan product is no longer offered.")
    elif product.new_energy_only and powertrain not in NEW_ENERGY_POWERTRAINS:
        errors["product"] = _(
            "%(product)s is only for new-energy vehicles (battery electric or plug-in hybrid)."
        ) % {"product": product}

    minimum = minimum_down_payment(product=product, vehicle_price=price, powertrain=powertrain)
    if down_payment < minimum:
        errors["down_payment"] = _(
            "The down payment must be at least %(minimum)s (%(percent)s of the vehicle price)."
        ) % {"minimum": yuan(minimum), "percent": _percent(product.min_down_payment_ratio_for(powertrain))}
    elif down_payment > price:
        errors["down_payment"] = _("The down payment cannot be more than the vehicle price, %(price)s.") % {
            "price": yuan(price)
        }

    if requested_amount <= 0:
        errors["requested_amount"] = _("Enter the amount you want to borrow.")
    elif down_payment <= price and requested_amount > price - down_payment:
        errors["requested_amount"] = _(
            "You can borrow at most the price minus the down payment: %(most)s."
        ) % {"most": yuan(price - down_payment)}
    elif not (product.min_amount <= requested_amount <= product.max_amount):
        errors["requested_amount"] = _("%(product)s lends between %(low)s and %(high)s.") % {
            "product": product,
            "low": yuan(product.min_amount),
            "high": yuan(product.max_amount),
        }

    if term_months not in product.terms:
        errors["term_months"] = _("%(product)s offers terms of %(terms)s months.") % {
            "product": product,
            "terms": ", ".join(str(term) for term in sorted(product.terms)),
        }
    elif hasattr(application, "applicant"):
        age_error = applicant_age_error(
            birth_date=application.applicant.birth_date, term_months=term_months, today=today
        )
        if age_error:
            errors["term_months"] = age_error
    return errors


@transaction.atomic
def draft_set_loan(
    *,
    application: LoanApplication,
    product: LoanProduct,
    down_payment: Decimal,
    requested_amount: Decimal,
    term_months: int,
    now: dt.datetime | None = None,
) -> LoanApplication:
    """Record the loan asked for, after checking it against the product, the vehicle and the age
    rule (18 to 65 at the end of the loan). Needs the vehicle step done first."""
    application = LoanApplication.objects.select_related("applicant").get(pk=_locked_draft(application).pk)
    if not application.has_vehicle():
        raise ValidationError({NON_FIELD_ERRORS: _("Fill in the vehicle step first.")})
    errors = _loan_errors(
        application=application,
        product=product,
        down_payment=down_payment,
        requested_amount=requested_amount,
        term_months=term_months,
        today=timezone.localdate(now or timezone.now()),
    )
    if errors:
        raise ValidationError(errors)
    application.product = product
    application.down_payment = down_payment
    application.requested_amount = requested_amount
    application.term_months = term_months
    application.save(
        update_fields=["product", "down_payment", "requested_amount", "term_months", "updated_at"]
    )
    return application


# --- Step 4: consent ----------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *, application: LoanApplication, kind: str, user: User, now: dt.datetime | None = None
) -> Consent:
    _locked_draft(application).save(update_fields=["updated_at"])  # the draft's expiry counts from it
    consent, _created = Consent.objects.get_or_create(
        application=application,
        kind=kind,
        notice_version=settings.PRIVACY_NOTICE_VERSION,
        defaults={"granted_by": user, "granted_at": now or timezone.now()},
    )
    return consent
