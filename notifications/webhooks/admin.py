"""Dealers' webhooks in the admin (managers): endpoints, their secrets, and the delivery log.

A secret is shown once, on the page that answers the save or the rotation (never in a message:
those travel in a cookie or the session); the endpoint's page never shows it again. The delivery
log is read-only but for "send again", a new attempt on the same row.
"""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .choices import WebhookEvent, WebhookStatus
from .forms import RotateForm
from .models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("https:// to the dealer's system; the portal posts each event there, signed."),
    )
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("dealer", "name", "url", "events", "active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("__str__", "dealer", "event_list", "active", "secret_created_at", "previous_secret_until")
    list_filter = ("active", "dealer")
    list_select_related = ("dealer",)
    search_fields = ("name", "url", "dealer__name")
    readonly_fields = ("secret_state", "secret_created_at", "previous_secret_until", "created_at")
    change_form_template = "notifications/webhooks/admin/endpoint_change_form.html"

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None):
        editable = ("dealer", "name", "url", "events", "active")
        return editable if obj is None else (*editable, *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None):
        # An endpoint stays with its dealership: another dealership's URL is another endpoint.
        return self.readonly_fields if obj is None else ("dealer", *self.readonly_fields)

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(event, event)) for event in obj.events)

    @admin.display(description=_("secret"))
    def secret_state(self, obj: WebhookEndpoint) -> str:
        return str(_("Kept encrypted; shown only when it was made. “Rotate secret” makes a new one."))

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.webhook_endpoint_update(
                endpoint=obj, url=data["url"], events=data["events"], name=data["name"], active=data["active"]
            )
            return
        endpoint, secret = services.webhook_endpoint_create(
            dealer=data["dealer"],
            url=data["url"],
            events=data["events"],
            name=data["name"],
            active=data["active"],
        )
        obj.pk = endpoint.pk
        request._webhook_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue=None
    ) -> HttpResponse:
        return self._secret_page(request, obj, request._webhook_secret, _("Webhook endpoint created"))  # type: ignore[attr-defined]

    def _secret_page(
        self, request: HttpRequest, endpoint: WebhookEndpoint, secret: str, title
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            "notifications/webhooks/admin/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "endpoint": endpoint,
                "secret": secret,
            },
        )

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_view)
        return [
            path("<int:object_id>/rotate/", rotate, name="notifications_webhookendpoint_rotate"),
            *super().get_urls(),
        ]

    def rotate_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        endpoint = get_object_or_404(WebhookEndpoint.objects.select_related("dealer"), pk=object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        form = RotateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            secret = services.webhook_endpoint_rotate_secret(
                endpoint_id=endpoint.pk, overlap=dt.timedelta(hours=form.cleaned_data["overlap_hours"])
            )
            endpoint.refresh_from_db()
            return self._secret_page(request, endpoint, secret, _("New webhook secret"))
        return TemplateResponse(
            request,
            "notifications/webhooks/admin/rotate.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Rotate the webhook secret"),
                "endpoint": endpoint,
                "form": form,
            },
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: one row per event and endpoint, newest first."""

    list_display = (
        "occurred_at",
        "event_type",
        "endpoint",
        "reference",
        "status",
        "attempts",
        "response_status",
        "next_attempt",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint", "application")
    search_fields = ("=event_id",)
    actions = ("send_again",)
    show_full_result_count = False
    fields = (
        "event_id",
        "event_type",
        "endpoint",
        "reference",
        "occurred_at",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt",
        "retry_until",
        "delivered_at",
        "response_status",
        "response_body",
        "last_error",
        "pretty_body",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        # The application only for its reference (and its stage, which the state machine's
        # concurrency guard reads when a row is loaded): not its thirty other columns.
        return (
            super()
            .get_queryset(request)
            .only(
                *(f.name for f in WebhookDelivery._meta.concrete_fields if f.name != "body"),
                "endpoint__name",
                "endpoint__url",
                "application__reference",
                "application__stage",
            )
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        return WebhookDelivery.objects.select_related("endpoint", "application").filter(pk=object_id).first()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the log stays

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Nothing on a delivery is edited: its page has no save buttons ("send again" is on the list).
        hidden = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().changeform_view(request, object_id, form_url, {**(extra_context or {}), **hidden})

    @admin.display(description=_("application"), ordering="application__reference")
    def reference(self, obj: WebhookDelivery) -> str:
        return obj.application.display_reference

    @admin.display(description=_("next attempt"), ordering="due_at")
    def next_attempt(self, obj: WebhookDelivery):
        return obj.due_at if obj.status == WebhookStatus.PENDING else None

    @admin.display(description=_("body"))
    def pretty_body(self, obj: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.body
        return format_html("<pre>{}</pre>", text)

    @admin.action(description=_("Send again"), permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = services.webhook_deliveries_send_again(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be tried again now.",
                "%(count)d deliveries will be tried again now.",
                queued,
            )
            % {"count": queued},
            messages.SUCCESS,
        )
