"""Managers create and revoke dealerships' API keys in the admin.

A new key's secret is shown once, on the page that answers the "save" (never in a message: those
travel in a cookie or the session), and only its hash is stored. Revoking is an action on the
list and a button-free field on the key (``revoked_at`` is read-only: a key never comes back).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiKey
from .services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "dealer",
        "shown_prefix",
        "scope",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope", "dealer")
    list_select_related = ("dealer", "created_by")
    search_fields = ("name", "=prefix", "dealer__name")
    actions = ("revoke",)
    readonly_fields = ("shown_prefix", "created_by", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("dealer", "name", "scope")
        return ("dealer", "name", "scope", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # The dealership and scope of an existing key never change: revoke it and make another.
        return self.readonly_fields if obj is None else ("dealer", "scope", *self.readonly_fields)

    # Managers only.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, never deleted: the key's history stays readable

    @admin.display(description=_("key"), ordering="prefix")
    def shown_prefix(self, obj: ApiKey) -> str:
        return f"lp_{obj.prefix}_…" if obj.prefix else ""

    def save_model(self, request, obj: ApiKey, form, change) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        new = api_key_create(dealer=obj.dealer, name=obj.name, scope=obj.scope, created_by=request.user)
        obj.pk = new.api_key.pk
        obj.prefix = new.api_key.prefix
        request._api_key_plaintext = new.plaintext

    def response_add(self, request, obj: ApiKey, post_url_continue=None) -> HttpResponse:
        """The page that shows the new key's secret, once."""
        return TemplateResponse(
            request,
            "api/admin/key_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("API key created"),
                "api_key": obj,
                "plaintext": request._api_key_plaintext,
            },
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(api_key_revoke(api_key=key) for key in queryset)
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )
