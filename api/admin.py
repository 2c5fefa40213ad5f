"""Managers create and revoke API keys in the admin: a dealership's, or a partner's (the partner's
name and the kinds of step it reports).

A new key's secret is shown once, on the page that answers the "save" (never in a message: those
travel in a cookie or the session), and only its hash is stored. Revoking is an action on the
list and a button-free field on the key (``revoked_at`` is read-only: a key never comes back).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from applications.choices import PartnerStepKind

from .models import ApiKey
from .services import api_key_create, api_key_revoke, partner_key_create


class ApiKeyForm(forms.ModelForm):
    """A new key is for a dealership or for a partner, never both (the model's check constraint
    holds it too); a partner's key names the kinds of step it reports."""

    step_kinds = forms.MultipleChoiceField(
        label=_("Partner steps it reports"),
        choices=PartnerStepKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ApiKey
        fields = ("dealer", "partner_name", "step_kinds", "name", "scope")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:  # the holder of an existing key never changes
            return cleaned
        dealer, partner_name = cleaned.get("dealer"), (cleaned.get("partner_name") or "").strip()
        kinds = cleaned.get("step_kinds") or []
        if dealer is not None and (partner_name or kinds):
            raise forms.ValidationError(
                _("A key is either a dealership's or a partner's: fill in one of the two, not both.")
            )
        if dealer is None and not partner_name:
            raise forms.ValidationError(_("Choose the dealership, or name the partner, that holds the key."))
        if dealer is None and not kinds:
            self.add_error("step_kinds", _("Choose the partner steps this partner reports."))
        cleaned["partner_name"] = partner_name
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "shown_holder",
        "shown_prefix",
        "scope",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope", "dealer")
    list_select_related = ("dealer", "created_by")
    search_fields = ("name", "=prefix", "dealer__name", "partner_name")
    actions = ("revoke",)
    readonly_fields = ("shown_prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    HOLDER = ("dealer", "partner_name", "step_kinds")

    def get_fieldsets(self, request, obj=None):
        key = (("name", "scope") if obj is None else ("name", "scope", *self.readonly_fields),)
        if obj is not None:
            holder = ("dealer",) if not obj.is_partner else ("partner_name", "shown_step_kinds")
            return ((None, {"fields": (*holder, *key[0])}),)
        return (
            (_("A dealership's key"), {"fields": ("dealer",)}),
            (
                _("Or a partner's key"),
                {
                    "fields": ("partner_name", "step_kinds"),
                    "description": _(
                        "For a partner's own system (the credit bureau, the e-signature service, the "
                        "bank…): it may only report the steps chosen here, on any file with such a "
                        "step open, and nothing else."
                    ),
                },
            ),
            (_("The key"), {"fields": key[0]}),
        )

    def get_readonly_fields(self, request, obj=None):
        # The holder and scope of an existing key never change: revoke it and make another.
        if obj is None:
            return self.readonly_fields
        return ("dealer", "partner_name", "shown_step_kinds", "scope", *self.readonly_fields)

    @admin.display(description=_("held by"), ordering="dealer__name")
    def shown_holder(self, obj: ApiKey) -> str:
        return obj.holder

    @admin.display(description=_("partner steps it reports"))
    def shown_step_kinds(self, obj: ApiKey) -> str:
        return ", ".join(str(PartnerStepKind(kind).label) for kind in obj.step_kinds)

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
        if obj.dealer is not None:
            new = api_key_create(dealer=obj.dealer, name=obj.name, scope=obj.scope, created_by=request.user)
        else:
            new = partner_key_create(
                partner_name=obj.partner_name,
                step_kinds=obj.step_kinds,
                name=obj.name,
                scope=obj.scope,
                created_by=request.user,
            )
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
