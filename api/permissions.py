"""Scopes: every key reads its dealership's files; only a key with the write scope creates files
and uploads documents."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiKey


class DealerKey(BasePermission):
    """An active dealership key (``ApiKeyAuthentication``); without one the answer is 401."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class ScopeAllows(BasePermission):
    """Reads for every key; anything else needs the write scope (403 otherwise)."""

    message = _("This API key may only read. Ask a manager for a key with the write scope.")

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        return request.method in SAFE_METHODS or api_key.can_write
