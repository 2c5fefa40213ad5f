"""Scopes: every key reads what it may see; only a key with the write scope creates files, uploads
documents and reports partner steps. A partner's key reaches the partner-step callback only."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiKey


class DealerKey(BasePermission):
    """An active key (``ApiKeyAuthentication``), a dealership's or a partner's; without one the
    answer is 401."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class PartnerKeyLimits(BasePermission):
    """A partner's key calls only the views that take one (``partner_keys_allowed``: the
    partner-step callback, which checks the key's kinds itself); anywhere else 403."""

    message = _("A partner's API key may only report its partner steps.")

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey) or not api_key.is_partner:
            return True
        return getattr(view, "partner_keys_allowed", False)


class ScopeAllows(BasePermission):
    """Reads for every key; anything else needs the write scope (403 otherwise)."""

    message = _("This API key may only read. Ask a manager for a key with the write scope.")

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        return request.method in SAFE_METHODS or api_key.can_write
