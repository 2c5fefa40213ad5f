"""Forms of the dealer's webhooks page (``views``) and the secret rotation (also the admin's)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from applications.models import Dealer

from .choices import WebhookEvent
from .validators import validate_webhook_url


class WebhookURLField(forms.URLField):
    """A URL (``https://`` added when none is given) checked by ``validate_webhook_url`` alone,
    which checks it is a URL first: one message, not the same one twice."""

    default_validators: list = []


class DealerEndpointForm(forms.Form):
    """A new endpoint of one of the user's dealerships. The URL is checked as the model checks it
    (``validate_webhook_url``), so a refused address is explained next to the field."""

    dealer = forms.ModelChoiceField(label=_("Dealership"), queryset=Dealer.objects.none(), empty_label=None)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("What it is, for your colleagues (optional)."),
    )
    url = WebhookURLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        validators=[validate_webhook_url],
        help_text=_("https:// to your system; the portal posts each event there, signed."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def __init__(self, *args, dealerships: QuerySet[Dealer], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dealer"].queryset = dealerships


class RotateForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label=_("overlap (hours)"),
        min_value=0,
        max_value=24 * 7,
        initial=24,
        help_text=_(
            "How long the old secret still signs posts beside the new one, while the dealer switches "
            "their receiver over. 0: the old secret stops at once."
        ),
    )
