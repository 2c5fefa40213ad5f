"""The portal's SMS and e-mail backends for ``make load`` (``bench.traffic.settings``): both send
to the fake provider (``bench.traffic.fakes``) at ``LOAD_PROVIDER_URL`` over HTTP, with the same
timeouts as the real SMS adapters (3 s to connect, 5 s to read)."""

from __future__ import annotations

import datetime as dt
from email.utils import getaddresses

import requests
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from common.pii import mask_phone
from common.sms import SmsBackend, SmsMessage, SmsTransientError

TIMEOUT = (3.0, 5.0)


def _url(path: str) -> str:
    return f"{settings.LOAD_PROVIDER_URL}{path}"


class ProviderSms(SmsBackend):
    """Sends with the delivery's reference, and asks the provider's send records by it (as the
    Alibaba Cloud adapter does): an interrupted delivery is then sent at most once."""

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        body = {"reference": reference, "phone": mask_phone(phone), "template": message.template}
        try:
            requests.post(_url("/sms"), json=body, timeout=TIMEOUT).raise_for_status()
        except requests.RequestException as exc:
            raise SmsTransientError(f"fake provider: {exc}") from exc

    def send(self, *, phone: str, text: str, reference: str) -> None:
        self.send_message(
            phone=phone, message=SmsMessage("notice", {"text": text}, text), reference=reference
        )

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        try:
            answer = requests.get(_url("/sms/sent"), params={"reference": reference}, timeout=TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise SmsTransientError(f"fake provider: {exc}") from exc
        return bool(answer.json().get("sent"))


class ProviderEmail(BaseEmailBackend):
    """Each message once to the provider by its Message-ID; a failure is an OSError, as SMTP's is
    (requests' errors are), so the delivery is retried."""

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            message_id = message.extra_headers.get("Message-ID") or str(message.message()["Message-ID"])
            to = ",".join(address for _name, address in getaddresses(message.recipients()))
            try:
                requests.post(
                    _url("/email"), json={"message_id": message_id, "to": to}, timeout=TIMEOUT
                ).raise_for_status()
            except requests.RequestException:
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent
