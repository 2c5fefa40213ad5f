"""Dealers: an application started at the showroom for a walk-in buyer, claimed by the buyer, and
the documents the dealership holds.

``walk_in_start`` is the one way a dealer starts a file (the dealer pages and the dealers' API both
call it): a draft of that dealership with the vehicle and the loan, no customer yet, and a
``WalkInClaim`` holding the buyer's name and mobile number. The buyer is texted a link carrying an
opaque token (its keyed hash is stored, the token only in the text). Opening it, they ask for a
one-time code to that number (``accounts.otp``, purpose "claim", bound to this claim), then sign in
or sign up with the number; ``walk_in_claim`` makes the file theirs. The buyer fills in their own
details, gives the consents and submits: a dealer never consents on a buyer's behalf, and answering
the offer is the buyer's alone (``LoanApplication.accept_offer``'s permission).

A dealer acts only for the dealerships they are staff of (``Dealer.staff``; one person may serve
several): anything else is refused here, whatever the caller checked.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.otp.models import OneTimeCode, Purpose
from accounts.otp.services import code_send, code_verify
from common import sms
from common.identifiers import canonical_text
from common.pii import keyed_hash, validate_phone

from ..choices import EventKind, Stage
from ..models import Dealer, Document, DocumentType, LoanApplication, WalkInClaim
from .documents import UPLOAD_STAGES, document_store
from .drafts import application_create_draft, draft_set_loan, draft_set_vehicle
from .lifecycle import TransitionRefused, application_event_add

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# What a dealer may pass to ``walk_in_start`` besides the buyer: the vehicle, then the loan.
VEHICLE_FIELDS = ("vehicle_make", "vehicle_model", "vehicle_price", "powertrain")
LOAN_FIELDS = ("product", "down_payment", "requested_amount", "term_months")
# The documents a dealership holds for the car it sells (DocumentType codes).
DEALER_DOCUMENT_CODES = ("vehicle_invoice", "vehicle_certificate")
# Until the lien is registered a dealer may add them; the registry works from them.
DEALER_UPLOAD_STAGES = UPLOAD_STAGES | {
    Stage.APPROVAL,
    Stage.OFFER_PENDING,
    Stage.CONTRACT_SIGNING,
    Stage.LIEN_REGISTRATION,
}
BUYER_NAME_MAX = 60


def is_dealer_staff(*, user: User, dealer_id: int | None) -> bool:
    """``user`` works for this dealership and holds the dealer role (1 query)."""
    if dealer_id is None or not user.is_authenticated:
        return False
    return (
        user.has_perm("applications.submit_for_customer")
        and Dealer.staff.through.objects.filter(dealer_id=dealer_id, user_id=user.pk).exists()
    )


def _refuse_unless_staff(*, user: User, dealer_id: int | None) -> None:
    if not is_dealer_staff(user=user, dealer_id=dealer_id):
        raise PermissionDenied(_("Only this dealership's staff may do this."))


# --- Starting a file for a walk-in buyer ---------------------------------------------------------


@transaction.atomic
def walk_in_start(
    *,
    dealer: Dealer,
    actor: User,
    buyer_name: str,
    buyer_phone: str,
    now: dt.datetime | None = None,
    **loan_fields: Any,
) -> LoanApplication:
    """Start a draft for a walk-in buyer at ``dealer`` and text them the link to claim it.

    ``loan_fields``: ``vehicle_make``, ``vehicle_model``, ``vehicle_price``, ``powertrain``,
    ``product``, ``down_payment``, ``requested_amount``, ``term_months``, all required and checked
    as the customer's own form checks them (``draft_set_vehicle``, ``draft_set_loan``). Raises
    PermissionDenied (not this dealership's staff), TypeError (an unknown or missing field) or
    ValidationError with a dict of field → message; nothing is written then. The text goes after
    commit (a failure is logged: ``walk_in_link_send`` sends a new link).
    """
    _refuse_unless_staff(user=actor, dealer_id=dealer.pk)
    unknown = set(loan_fields) - set(VEHICLE_FIELDS) - set(LOAN_FIELDS)
    missing = (set(VEHICLE_FIELDS) | set(LOAN_FIELDS)) - set(loan_fields)
    if unknown or missing:
        raise TypeError(f"walk_in_start: unknown {sorted(unknown)}, missing {sorted(missing)}")
    errors: dict[str, str] = {}
    buyer_name = canonical_text(buyer_name)
    if not buyer_name:
        errors["buyer_name"] = _("Enter the buyer's name.")
    elif len(buyer_name) > BUYER_NAME_MAX:
        errors["buyer_name"] = _("Enter at most %(count)s characters.") % {"count": BUYER_NAME_MAX}
    try:
        phone = validate_phone(buyer_phone)
    except ValidationError as error:
        errors["buyer_phone"] = error.messages[0]
    if errors:
        raise ValidationError(errors)

    now = now or timezone.now()
    application = application_create_draft(created_by=actor, dealer=dealer, now=now)
    application = draft_set_vehicle(
        application=application, dealer=dealer, **{name: loan_fields[name] for name in VEHICLE_FIELDS}
    )
    application = draft_set_loan(
        application=application, now=now, **{name: loan_fields[name] for name in LOAN_FIELDS}
    )
    claim = WalkInClaim(
        application=application,
        buyer_name=buyer_name,
        buyer_phone=phone,
        buyer_phone_hash=keyed_hash(phone),
        created_at=now,
    )
    _new_link(claim=claim, now=now)
    return application


def walk_in_link_send(
    *, application: LoanApplication, actor: User, now: dt.datetime | None = None
) -> WalkInClaim:
    """Text the buyer a new link (the old one stops working), until they have claimed the file."""
    _refuse_unless_staff(user=actor, dealer_id=application.dealer_id)
    now = now or timezone.now()
    with transaction.atomic():
        claim = (
            WalkInClaim.objects.select_for_update().select_related("application").get(application=application)
        )
        if claim.claimed_at is not None:
            raise TransitionRefused(_("The buyer has claimed this application already."))
        _new_link(claim=claim, now=now)
    return claim


def _new_link(*, claim: WalkInClaim, now: dt.datetime) -> None:
    """A fresh token for ``claim`` (saved), texted to the buyer once the transaction commits."""
    token = secrets.token_urlsafe(24)
    claim.token_hash = claim_token_hash(token)
    claim.link_sent_at = now
    claim.save()
    dealer_name = claim.application.dealer.name if claim.application.dealer else ""
    phone, claim_id = claim.buyer_phone, claim.pk
    transaction.on_commit(
        lambda: _text_link(phone=phone, token=token, dealer_name=dealer_name, claim_id=claim_id)
    )


def claim_url(token: str) -> str:
    return settings.SITE_URL + reverse("applications:claim", args=[token])


def _text_link(*, phone: str, token: str, dealer_name: str, claim_id: int) -> None:
    # The buyer's language is not known yet: the site's own.
    with translation.override(settings.LANGUAGE_CODE):
        text = _(
            "%(dealer)s has started a car loan application for you on Loan Portal. To check it and "
            "complete it yourself, open %(link)s"
        ) % {"dealer": dealer_name, "link": claim_url(token)}
    message = sms.SmsMessage(template="notice", params={"text": text}, text=text)
    try:
        sms.send_with_retry(
            phone=phone, message=message, reference=f"loanportal-claim-{claim_id}-{token[:8]}"
        )
    except sms.SmsError:
        # Logged by common.sms with the masked number; the dealer's page offers a new link.
        logger.warning("walk-in claim %s: the link could not be texted", claim_id)


def claim_token_hash(token: str) -> str:
    return keyed_hash(f"walk-in-claim:{token}")


def claim_for_token(token: str) -> WalkInClaim | None:
    """The claim a link's token opens, claimed or not (1 query), or None."""
    if not token or len(token) > 64:
        return None
    return (
        WalkInClaim.objects.select_related("application", "application__dealer")
        .filter(token_hash=claim_token_hash(token))
        .first()
    )


# --- The buyer claims it --------------------------------------------------------------------------


def _code_context(claim: WalkInClaim) -> str:
    return f"walk-in-claim:{claim.pk}"


def claim_code_send(*, claim: WalkInClaim, client_ip: str, now: dt.datetime | None = None) -> OneTimeCode:
    """Text a one-time code to the buyer's number, bound to this claim (``accounts.otp``'s limits
    apply: raises CodeRefused or CodeNotSent)."""
    if claim.claimed_at is not None:
        raise TransitionRefused(_("This application has been claimed already."))
    return code_send(
        purpose=Purpose.CLAIM,
        phone=claim.buyer_phone,
        client_ip=client_ip,
        context=_code_context(claim),
        now=now,
    )


def claim_code_verify(*, claim: WalkInClaim, code: str, now: dt.datetime | None = None) -> None:
    """The buyer proved the number (raises CodeInvalid otherwise)."""
    code_verify(
        purpose=Purpose.CLAIM, phone=claim.buyer_phone, code=code, context=_code_context(claim), now=now
    )


def may_claim(*, claim: WalkInClaim, user: User) -> bool:
    """The signed-in account is the buyer's: a customer whose mobile number is the one on the claim."""
    return (
        user.is_authenticated
        and user.has_perm("applications.act_as_applicant")
        and bool(user.phone_hash)
        and user.phone_hash == claim.buyer_phone_hash
    )


def walk_in_claim(*, claim: WalkInClaim, user: User, now: dt.datetime | None = None) -> LoanApplication:
    """Make the walk-in file the buyer's (``user``, whose number the caller has confirmed by code).

    Refuses (TransitionRefused) a claim taken already or a file that is no longer a draft, and
    (PermissionDenied) an account that is not a customer with the number on the claim. The history
    records it (a note event: the buyer took the file over).
    """
    if not may_claim(claim=claim, user=user):
        raise PermissionDenied(_("Sign in with the mobile number this application was started for."))
    now = now or timezone.now()
    with transaction.atomic():
        application = LoanApplication.objects.select_for_update().get(pk=claim.application_id)
        locked = WalkInClaim.objects.select_for_update().get(pk=claim.pk)
        if locked.claimed_at is not None or application.customer_id is not None:
            raise TransitionRefused(_("This application has been claimed already."))
        if application.stage != Stage.DRAFT:
            raise TransitionRefused(_("This application can no longer be claimed."))
        application.customer = user
        application.save(update_fields=["customer", "updated_at"])
        locked.claimed_at, locked.claimed_by = now, user
        locked.save(update_fields=["claimed_at", "claimed_by"])
        application_event_add(
            application=application, kind=EventKind.NOTE, actor=user, data={"action": "claimed"}, now=now
        )
    application.refresh_from_db()
    return application


# --- The documents a dealership holds -------------------------------------------------------------


def dealer_document_types() -> list[DocumentType]:
    return list(DocumentType.objects.filter(code__in=DEALER_DOCUMENT_CODES).order_by("code"))


def dealer_document_upload(
    *,
    application: LoanApplication,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    actor: User,
    now: dt.datetime | None = None,
) -> Document:
    """Store the vehicle's invoice or certificate for one of the dealer's files: the same checks and
    storage as the customer's uploads (``documents.document_store``), the same history event."""
    _refuse_unless_staff(user=actor, dealer_id=application.dealer_id)
    if document_type.code not in DEALER_DOCUMENT_CODES:
        raise ValidationError({"file": _("The buyer uploads this document themselves.")})
    if application.stage not in DEALER_UPLOAD_STAGES:
        raise TransitionRefused(_("Documents can no longer be added to this application."))
    return document_store(
        application=application,
        document_type=document_type,
        uploaded_file=uploaded_file,
        actor=actor,
        now=now or timezone.now(),
    )
