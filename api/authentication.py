"""``Authorization: Bearer lp_<prefix>_<secret>``: the request acts as the key's dealership, or
as the partner that holds it.

``request.auth`` is the ``ApiKey``; ``request.user`` the dealership's API user
(``models.DealerApiUser``), or for a partner's key an anonymous user: a partner is nobody in the
portal, and reports as itself (``api.permissions.PartnerKeyLimits`` keeps it to its steps). No other authentication reaches the API: no session cookie, so no CSRF either.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .services import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no key: the permission classes answer 401
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as “Authorization: Bearer <key>”."))
        try:
            presented = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This API key is not valid.")) from None
        api_key = api_key_authenticate(presented=presented)
        if api_key is None:
            # Unknown, wrong and revoked keys answer alike.
            raise exceptions.AuthenticationFailed(_("This API key is not valid, or it was revoked."))
        return (api_key.actor or AnonymousUser()), api_key

    def authenticate_header(self, request) -> str:
        # Makes a missing or refused key a 401 with WWW-Authenticate, not a 403.
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "dealerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lp_<prefix>_<secret>",
            "description": "An API key, created by a manager in the admin: a dealership's, or a "
            "partner's, which may only report the partner steps it was given "
            "(`partner_steps_report`; any other operation answers 403).",
        }
