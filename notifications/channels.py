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


def reference_of(delivery: Delivery) -> str:
    """The delivery's own name at the provider, the same on every try: the SMS providers' client
    reference (Alibaba Cloud ``OutId``, Tencent Cloud ``SessionContext``) and the e-mail's
    Message-ID are made from it, so a repeat is recognisable (``already_sent``)."""
    return f"loanportal-delivery-{delivery.pk}"


def message_id_of(delivery: Delivery) -> str:
    """The e-mail's Message-ID: the delivery's reference at the sending domain (the domain of
    ``DEFAULT_FROM_EMAIL``), not the host's, so every worker writes the same one for a delivery.
    Mail systems that meet it twice (Gmail, most clients) show the message once."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "loanportal.invalid"
    return f"<{reference_of(delivery)}@{domain}>"


def send(delivery: Delivery) -> None:
    """Send one delivery on its channel; raise Transient/PermanentDeliveryError on failure."""
    user = delivery.notification.recipient
    subject, text = message_for(delivery)
    reference = reference_of(delivery)
    if delivery.channel == Channel.EMAIL:
        if not user.email:
            raise PermanentDeliveryError("no email address")
        headers = {"X-Loanportal-Delivery": reference, "Message-ID": message_id_of(delivery)}
        message = EmailMessage(subject, text, to=[user.email], headers=headers)
        try:
            message.send()
        except OSError as exc:  # SMTP down, DNS, connection refused, EMAIL_TIMEOUT
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


def already_sent(delivery: Delivery) -> bool:
    """Did an earlier try of this delivery reach the provider? Asked before trying again, when
    the earlier try's outcome is not known (its worker died, or the answer never came).

    SMS: the provider is asked for what it accepted for the number since the notification was
    written, by the delivery's reference (``SmsBackend.was_sent``): at most once where it can say
    (Alibaba Cloud; Tencent Cloud with status pulling enabled), at least once where it cannot.
    E-mail: SMTP cannot say, so False (at least once; the Message-ID folds a repeat). Raises
    TransientDeliveryError when the provider cannot be asked now: the try waits rather than risk
    a second message.
    """
    if delivery.channel != Channel.SMS or not delivery.notification.recipient.phone:
        return False
    try:
        found = sms.get_backend().was_sent(
            phone=delivery.notification.recipient.phone,
            reference=reference_of(delivery),
            since=delivery.notification.created_at,
        )
    except sms.SmsError as exc:
        raise TransientDeliveryError(f"could not ask whether it was sent: {exc}") from exc
    return bool(found)
