"""Sign-up and sign-in forms. Writes happen in services; these forms only check input."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common.identifiers import canonical_email

from .services import Identifier, identifier_parse, identifier_taken
from .throttling import sign_in_key

TAKEN_MESSAGES = {
    "phone": _("An account with this mobile number already exists — sign in or reset your password."),
    "email": _("An account with this email address already exists — sign in or reset your password."),
}


class SignUpForm(SetPasswordMixin, forms.Form):
    identifier = forms.CharField(
        label=_("Mobile number or email"),
        max_length=254,
        help_text=_("You will use it to sign in. A mobile number has 11 digits and starts with 1."),
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean_identifier(self) -> Identifier:
        identifier = identifier_parse(self.cleaned_data["identifier"])
        # A number is confirmed by a code, and the page after this one is the same whether it has
        # an account or not (accounts.code_views.signup_send): nothing here may say which.
        if identifier.kind == "email" and identifier_taken(identifier):
            raise ValidationError(TAKEN_MESSAGES[identifier.kind], code="taken")
        return identifier

    def clean(self):
        self.validate_passwords()
        # Validate against the account as it will be (its email), so "too similar to the email"
        # works; the messages go next to the first password box, where the password was chosen.
        identifier = self.cleaned_data.get("identifier")
        user = get_user_model()(email=identifier.value if identifier and identifier.kind == "email" else "")
        self.validate_password_for_user(user, password_field_name="password1")  # noqa: S106 (a field name)
        return self.cleaned_data


class SignInForm(AuthenticationForm):
    """One box for a mobile number, an email address or a user name."""

    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the account exists or not: the form must not confirm who has one.
        "invalid_login": _(
            "The mobile number, email or user name and password do not match an account. "
            "Please check both and try again."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.label = _("Mobile number, email or user name")
        field.max_length = 254
        field.widget.attrs["maxlength"] = "254"

    def clean(self):
        identifier = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if identifier is not None and password:
            # django-axes counts failures per account: every spelling of the same phone number or
            # email (and the user name) reaches authenticate() as the same key. See throttling.py.
            self.user_cache = authenticate(self.request, username=sign_in_key(identifier), password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def get_invalid_login_error(self):
        return ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class CanonicalEmailField(forms.EmailField):
    """An email box that reads ``ｌｉ．ｎａ＠ｅｘａｍｐｌｅ．ｃｎ`` (a Chinese input method in full-width
    mode) as ``li.na@example.cn``: the canonical spelling is checked and used, not what was typed."""

    def to_python(self, value):
        return canonical_email(super().to_python(value))


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, with the address canonicalised before it is looked up."""

    email = CanonicalEmailField(
        label=auth_forms.PasswordResetForm.base_fields["email"].label,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
