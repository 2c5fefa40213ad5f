"""A customer's privacy rights (PIPL) as writes: a request to correct their personal data (a staff
task due on the working calendar) and its answer, and closing their account. What the page shows
is read by ``applications.privacy``; the retention pass is ``services.retention``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import user_close

from .. import sla
from ..models import CorrectionRequest, LoanApplication
from ..privacy import open_files, privacy_parts
from .retention import application_delete

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

ANSWER_PERMISSION = "applications.change_correctionrequest"


class AccountCloseRefused(Exception):
    """The account has a file still open; ``str(exc)`` says which, for the customer."""


# --- Corrections --------------------------------------------------------------------------------


def correction_due_at(*, asked_at: dt.datetime) -> dt.datetime:
    """``CORRECTION_WORKING_DAYS`` working days after ``asked_at`` on the working calendar, at the
    same working moment (asked on Friday 17:00: due fifteen working days later at 17:00, weekends,
    public holidays and 调休 counted as the staff deadlines count them)."""
    calendar = sla.load_calendar(around=asked_at.astimezone(dt.UTC).date())
    day = dt.datetime.combine(dt.date.min, calendar.day_end) - dt.datetime.combine(
        dt.date.min, calendar.day_start
    )
    return sla.add_working_time(asked_at, day * settings.CORRECTION_WORKING_DAYS, calendar)


def correction_request_create(
    *,
    customer: User,
    subject: str,
    details: str,
    application: LoanApplication | None = None,
    now: dt.datetime | None = None,
) -> CorrectionRequest:
    """Record the customer's request as a task for staff, due on the working calendar. The file it
    names must be the customer's own."""
    now = now or timezone.now()
    if subject not in CorrectionRequest.Subject.values:
        raise ValidationError({"subject": _("Choose what is wrong.")})
    if application is not None and application.customer_id != customer.pk:
        raise PermissionDenied(_("You can only ask about your own applications."))
    request = CorrectionRequest.objects.create(
        customer=customer,
        application=application,
        subject=subject,
        details=details.strip(),
        created_at=now,
        due_at=correction_due_at(asked_at=now),
    )
    logger.info("Correction request %s created, due %s", request.pk, request.due_at.isoformat())
    return request


def correction_request_answer(
    *,
    request: CorrectionRequest,
    actor: User,
    status: str,
    response: str,
    now: dt.datetime | None = None,
) -> CorrectionRequest:
    """Staff answer an open request: corrected, or not (with why, which the customer reads)."""
    if not actor.has_perm(ANSWER_PERMISSION):
        raise PermissionDenied(_("You may not answer correction requests."))
    if status not in (CorrectionRequest.Status.DONE, CorrectionRequest.Status.REFUSED):
        raise ValidationError({"status": _("Say whether the data was corrected.")})
    if status == CorrectionRequest.Status.REFUSED and not response.strip():
        raise ValidationError({"response": _("Tell the customer why the data was not corrected.")})
    now = now or timezone.now()
    with transaction.atomic():
        locked = CorrectionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != CorrectionRequest.Status.OPEN:
            raise ValidationError(_("This request has already been answered."))
        locked.status = status
        locked.response = response.strip()
        locked.resolved_at = now
        locked.resolved_by = actor
        locked.save(update_fields=["status", "response", "resolved_at", "resolved_by"])
    return locked


# --- Closing the account ------------------------------------------------------------------------


def account_close(*, user: User, now: dt.datetime | None = None) -> User:
    """Close the customer's account, or refuse while a file is open (``privacy.open_files``: in
    progress, or a loan still being repaid).

    What goes: the applications never sent (drafts, and drafts withdrawn or expired unsent), what
    the other apps hold (``LOANPORTAL_PRIVACY_PARTS``: the inbox and the notification settings),
    the correction requests' details, the marketing consent, and the account's own personal data
    (``accounts.services.user_close``). What stays, for the retention period: the files that were
    submitted (credit and anti-money-laundering records), until the retention pass anonymises them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        still_open = list(open_files(user=user, now=now).values_list("reference", flat=True)[:3])
        if still_open:
            names = ", ".join(LoanApplication(reference=ref).display_reference for ref in still_open)
            raise AccountCloseRefused(
                _(
                    "Your account cannot be closed while an application is still open (%(references)s): "
                    "we need it to finish the application or to service the loan. Withdraw the "
                    "application first, or ask again once the loan is repaid."
                )
                % {"references": names}
            )
        unsent = LoanApplication.objects.filter(customer=user, submitted_at__isnull=True)
        deleted = sum(application_delete(application=app) for app in unsent.select_for_update())
        for part in privacy_parts():
            part.erase(user=user)
        CorrectionRequest.objects.filter(customer=user, status=CorrectionRequest.Status.OPEN).update(
            status=CorrectionRequest.Status.CANCELLED, resolved_at=now
        )
        CorrectionRequest.objects.filter(customer=user).update(details="")
        closed = user_close(user=user, now=now)
    # The account's number and counts only: no personal data in the log.
    logger.info("Account %s closed; %s unsent applications deleted", user.pk, deleted)
    return closed
