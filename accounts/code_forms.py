"""Forms of the pages that send and take one-time codes (``code_views``). They only check input:
the codes are issued and checked by ``accounts.otp.services``."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common.identifiers import ascii_digits
from common.pii import validate_phone

from .forms import CanonicalEmailField
from .otp.services import CODE_DIGITS


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("11 digits starting with 1. We will text you a 6-digit code."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}),
    )

    def clean_phone(self) -> str:
        return validate_phone(self.cleaned_data["phone"])


class CodeField(forms.CharField):
    """Six digits, typed in any script (a full-width input method gives １２３４５６)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Code from the text message"))
        super().__init__(
            max_length=12,
            widget=forms.TextInput(
                attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
            ),
            **kwargs,
        )

    def clean(self, value):
        value = ascii_digits(super().clean(value) or "").replace(" ", "")
        if value and (len(value) != CODE_DIGITS or not value.isdigit()):
            raise ValidationError(_("The code has 6 digits."), code="code_format")
        return value


class CodeForm(forms.Form):
    code = CodeField()


class CodePasswordForm(SetPasswordMixin, forms.Form):
    """Reset by code: the code and the new password twice. The password is checked without the
    account (which the visitor has not proved yet), so a refusal says nothing about it."""

    code = CodeField()
    password1, password2 = SetPasswordMixin.create_password_fields(label1=_("New password"))

    def clean(self):
        self.validate_passwords()
        password = self.cleaned_data.get("password1")
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as error:
                self.add_error("password1", error)
        return self.cleaned_data


class EmailForm(forms.Form):
    email = CanonicalEmailField(
        label=_("New email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class PhoneCodesForm(forms.Form):
    """Changing the number: the code sent to the new number, and to the current one if there is one."""

    code_new = CodeField(label=_("Code sent to the new number"))
    code_old = CodeField(label=_("Code sent to your current number"))

    def __init__(self, *args, has_old: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not has_old:
            del self.fields["code_old"]
