"""Which URLs a webhook endpoint may have.

HTTPS only, to a name or a public address: the body is signed but not encrypted, and a URL that
points inside our own network would let whoever edits it make the portal call its neighbours.
Plain ``http://`` is allowed to this machine alone (127.0.0.1, ::1, localhost), and only where
``settings.WEBHOOK_ALLOW_LOCAL_HTTP`` or ``DEBUG`` says so: development and the tests, whose
receiver listens on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def local_http_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBHOOK_ALLOW_LOCAL_HTTP", False))


def validate_webhook_url(value: str) -> None:
    URLValidator(schemes=["http", "https"])(value)
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise ValidationError(_("The address must not contain a user name or password."), code="credentials")
    if parts.fragment:
        raise ValidationError(_("The address must not contain a fragment (#…)."), code="fragment")
    if host in LOCAL_HOSTS:
        if parts.scheme == "http" and local_http_allowed():
            return
        raise ValidationError(
            _("Webhooks cannot be sent to this machine: use the dealer's public HTTPS address."),
            code="local",
        )
    if parts.scheme != "https":
        raise ValidationError(_("The address must start with https://."), code="scheme")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name
    if not address.is_global:
        raise ValidationError(
            _("Webhooks cannot be sent to a private or reserved network address."), code="private"
        )
