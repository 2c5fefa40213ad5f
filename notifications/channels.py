"""Email and SMS: the words (in the recipient's language, without amounts or personal numbers)
and the sending. In-app needs neither: the inbox renders the notification row itself."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from . import sms
from .choices import Channel, Kind
from .models import Delivery
from .texts import delay_cause


class TransientDeliveryError(Exception):
    """The channel is down for now; the delivery is retried with backoff."""


class PermanentDeliveryError(Exception):
    """This delivery cannot succeed (no address, refused number); it is marked failed."""


def message_for(delivery: Delivery) -> tuple[str, str]:
    """Subject and text in the recipient's language. Only the kind and the application's reference:
    amounts, ID and phone numbers stay in the portal, behind sign-in."""
    notification = delivery.notification
    user = notification.recipient
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title = str(Kind(notification.kind).label) if notification.kind in Kind.values else _("Update")
        cause = delay_cause(notification)
        if cause and notification.application_id:
            body = _(
                "Application %(reference)s: %(title)s. Why: %(reason)s. %(remedy)s "
                "Sign in to the Loan Portal for the details."
            ) % {
                "reference": notification.application.display_reference,
                "title": title,
                "reason": cause[0],
                "remedy": cause[1],
            }
        elif notification.application_id:
            body = _("Application %(reference)s: %(title)s. Sign in to the Loan Portal for the details.") % {
                "reference": notification.application.display_reference,
                "title": title,
            }
        else:
            body = _("%(title)s. Sign in to the Loan Portal for the details.") % {"title": title}
    return title, body


def send(delivery: Delivery) -> None:
    """Send one delivery on its channel; raise Transient/PermanentDeliveryError on failure."""
    user = delivery.notification.recipient
    subject, text = message_for(delivery)
    reference = f"loanportal-delivery-{delivery.pk}"
    if delivery.channel == Channel.EMAIL:
        if not user.email:
            raise PermanentDeliveryError("no email address")
        message = EmailMessage(subject, text, to=[user.email], headers={"X-Loanportal-Delivery": reference})
        try:
            message.send()
        except OSError as exc:  # SMTP down, DNS, connection refused
            raise TransientDeliveryError(str(exc)) from exc
    elif delivery.channel == Channel.SMS:
        if not user.phone:
            raise PermanentDeliveryError("no mobile number")
        try:
            sms.get_backend().send(phone=user.phone, text=text, reference=reference)
        except sms.SmsTransientError as exc:
            raise TransientDeliveryError(str(exc)) from exc
        except sms.SmsError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
    else:
        raise PermanentDeliveryError(f"no sender for channel {delivery.channel}")
