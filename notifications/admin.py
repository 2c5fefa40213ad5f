"""Notifications in admin, people's channel preferences, and the SLA sweep's health on the admin
index (for managers)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import ChannelPreference, Notification, SweepRun
from .services import channel_preference_update

# The index shows a warning when the SLA sweep is older than three intervals (a stopped beat).
admin.site.index_template = "notifications/admin_index.html"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient", "application", "read_at")
    list_filter = ("kind",)
    list_select_related = ("recipient", "application")
    readonly_fields = ("recipient", "application", "kind", "context", "dedupe_key", "created_at", "read_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SweepRun)
class SweepRunAdmin(admin.ModelAdmin):
    list_display = ("name", "finished_at", "duration_ms", "counts")
    readonly_fields = ("name", "finished_at", "duration_ms", "counts")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ChannelPreferenceAddForm(forms.ModelForm):
    """Adding: the person by user name (typed, not picked from every account in a list)."""

    user = forms.ModelChoiceField(
        label=_("user name"),
        queryset=get_user_model().objects.all(),
        to_field_name="username",
        widget=forms.TextInput,
        error_messages={"invalid_choice": _("No account has this user name.")},
    )

    class Meta:
        model = ChannelPreference
        fields = ("user", "email", "sms")


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(admin.ModelAdmin):
    """Staff set a person's channels when asked ("no more text messages, please"). Someone without
    a row gets every channel their account can be reached on; the in-app inbox is not a setting."""

    list_display = ("user", "email", "sms")
    list_filter = ("email", "sms")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    show_full_result_count = False

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ChannelPreferenceAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ("user",) if obj else ()

    def save_model(self, request: HttpRequest, obj: ChannelPreference, form, change: bool) -> None:
        # The same write path as the settings page.
        obj.pk = channel_preference_update(user=obj.user, email=obj.email, sms=obj.sms).pk


# Dealers' webhooks: endpoints and the delivery log (notifications/webhooks/admin.py).
from .webhooks import admin as webhooks_admin  # noqa: E402, F401
