"""The notification settings form: which channels besides the in-app inbox a person wants."""

from __future__ import annotations

from crispy_bootstrap5.bootstrap5 import Switch
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from .models import ChannelPreference


class ChannelPreferenceForm(forms.Form):
    """Two switches. A channel the account cannot be reached on (no email address, no mobile
    number) is shown off and disabled, and saving keeps its stored choice: should the address be
    added later, the person's earlier wish still holds."""

    email = forms.BooleanField(label=_("Notify me by email"), required=False)
    sms = forms.BooleanField(label=_("Notify me by text message"), required=False)

    def __init__(self, *args, user, preference: ChannelPreference, **kwargs):
        kwargs.setdefault("initial", {"email": preference.email, "sms": preference.sms})
        super().__init__(*args, **kwargs)
        self.preference = preference
        email, sms = self.fields["email"], self.fields["sms"]
        # Help texts are rendered unescaped by the form templates: escape what the user typed.
        if user.email:
            email.help_text = _("To %(address)s.") % {"address": escape(user.email)}
        else:
            self._unreachable("email", _("Your account has no email address, so we cannot send you email."))
        if user.phone_hash:
            if user.is_staff:
                sms.help_text = _(
                    "To %(number)s. Notices about your work (reminders, escalations, new files, "
                    "the daily summary) never go by text message."
                ) % {"number": escape(user.masked_phone)}
            else:
                sms.help_text = _("To %(number)s.") % {"number": escape(user.masked_phone)}
        else:
            self._unreachable(
                "sms", _("Your account has no mobile number, so we cannot send you text messages.")
            )
        self.helper = FormHelper()
        self.helper.form_tag = False  # the template owns the <form>, its button and the CSRF token
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Switch("email"), Switch("sms"))

    def _unreachable(self, name: str, hint) -> None:
        field = self.fields[name]
        field.disabled = True  # a disabled field ignores what is posted and keeps its initial value
        field.help_text = hint
        self.initial[name] = False

    def clean(self):
        cleaned = super().clean()
        for name in ("email", "sms"):
            if self.fields[name].disabled:
                cleaned[name] = getattr(self.preference, name)
        return cleaned
