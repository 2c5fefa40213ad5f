"""The customer's forms: the four application steps and a document upload.

Forms check the shape of the input (required, a number, a real ID card number); the rules of the
business (down payment, amount, term, age at the end of the loan) live in the services, whose
``ValidationError`` dicts the views put next to the same fields (``add_service_errors``).
"""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.bootstrap import InlineRadios, PrependedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.money import fen
from common.pii import birth_date_from_id, mask_id_number, mask_phone, validate_id_number, validate_phone

from .choices import Employment, Powertrain
from .models import Applicant, Dealer, LoanApplication, LoanProduct
from .services.drafts import applicant_age_error, minimum_down_payment, products_for

MONEY = {"max_digits": 12, "decimal_places": 2}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names (elsewhere: above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error)


def _helper(layout: Layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False  # the templates own the <form>, its step buttons and the CSRF token
    helper.disable_csrf = True
    helper.layout = layout
    return helper


def _money_input(placeholder: str = "") -> forms.NumberInput:
    return forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "placeholder": placeholder})


# --- Step 1 ------------------------------------------------------------------------------------


class PersonalForm(forms.Form):
    """The applicant. Editing a saved draft never shows the ID number, phone or income again:
    they are masked in the hint, and left blank they keep the value on file."""

    full_name = forms.CharField(label=_("Full name, as on your ID card"), max_length=60)
    id_number = forms.CharField(
        label=_("ID card number"),
        max_length=25,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    employment = forms.ChoiceField(label=_("Employment"), choices=Employment.choices)
    employer = forms.CharField(label=_("Employer"), max_length=120, required=False)
    monthly_income = forms.DecimalField(
        label=_("Monthly income after tax"), min_value=Decimal(0), widget=_money_input(), **MONEY
    )
    monthly_debt = forms.DecimalField(
        label=_("Existing monthly debt payments"),
        min_value=Decimal(0),
        initial=Decimal(0),
        help_text=_("Mortgage, other loans and credit-card instalments; 0 if none."),
        widget=_money_input(),
        **MONEY,
    )

    def __init__(self, *args, applicant: Applicant | None = None, term_months: int | None = None, **kwargs):
        self.applicant = applicant
        self.term_months = term_months
        if applicant is not None:
            kwargs.setdefault(
                "initial",
                {
                    "full_name": applicant.full_name,
                    "employment": applicant.employment,
                    "employer": applicant.employer,
                    "monthly_debt": applicant.monthly_debt,
                },
            )
        super().__init__(*args, **kwargs)
        if applicant is not None:
            keep = _("On file: %(value)s. Leave blank to keep it.")
            for name, shown in (
                ("id_number", mask_id_number(applicant.id_number)),
                ("phone", mask_phone(applicant.phone)),
                ("monthly_income", "••••"),
            ):
                self.fields[name].required = False
                self.fields[name].help_text = keep % {"value": shown}
        self.helper = _helper(
            Layout(
                Field("full_name", autocomplete="name"),
                "id_number",
                "phone",
                Row(
                    Column("employment", css_class="col-12 col-md-6"),
                    Column("employer", css_class="col-12 col-md-6"),
                ),
                Row(
                    Column(PrependedText("monthly_income", "¥"), css_class="col-12 col-md-6"),
                    Column(PrependedText("monthly_debt", "¥"), css_class="col-12 col-md-6"),
                ),
            )
        )

    def clean_id_number(self) -> str:
        raw = self.cleaned_data["id_number"]
        if not raw and self.applicant is not None:
            return self.applicant.id_number
        id_number = validate_id_number(raw)
        problem = applicant_age_error(
            birth_date=birth_date_from_id(id_number), term_months=self.term_months, today=timezone.localdate()
        )
        if problem:
            raise ValidationError(problem, code="age")
        return id_number

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        if not raw and self.applicant is not None:
            return self.applicant.phone
        return validate_phone(raw)

    def clean_monthly_income(self) -> Decimal:
        income = self.cleaned_data["monthly_income"]
        if income is None and self.applicant is not None:
            return self.applicant.monthly_income
        return income


# --- Step 2 ------------------------------------------------------------------------------------


class DealerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Dealer) -> str:
        return f"{obj.name} · {obj.region}"


class VehicleForm(forms.Form):
    dealer = DealerChoiceField(
        label=_("Dealer"),
        queryset=Dealer.objects.order_by("region", "name"),
        empty_label=_("Choose the dealer selling the car"),
    )
    vehicle_make = forms.CharField(
        label=_("Make"), max_length=60, widget=forms.TextInput(attrs={"placeholder": _("e.g. BYD")})
    )
    vehicle_model = forms.CharField(
        label=_("Model"), max_length=80, widget=forms.TextInput(attrs={"placeholder": _("e.g. Han EV")})
    )
    vehicle_price = forms.DecimalField(
        label=_("Price of the vehicle"),
        min_value=Decimal("0.01"),
        help_text=_("The price on the dealer's quote, in yuan."),
        widget=_money_input(),
        **MONEY,
    )
    powertrain = forms.ChoiceField(
        label=_("Powertrain"),
        choices=Powertrain.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Battery-electric and plug-in hybrid cars are new-energy vehicles: they need a smaller down payment."
        ),
    )

    def __init__(self, *args, application: LoanApplication | None = None, **kwargs):
        if application is not None and application.has_vehicle():
            kwargs.setdefault(
                "initial",
                {
                    "dealer": application.dealer_id,
                    "vehicle_make": application.vehicle_make,
                    "vehicle_model": application.vehicle_model,
                    "vehicle_price": application.vehicle_price,
                    "powertrain": application.powertrain,
                },
            )
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Layout(
                "dealer",
                Row(
                    Column("vehicle_make", css_class="col-12 col-md-6"),
                    Column("vehicle_model", css_class="col-12 col-md-6"),
                ),
                PrependedText("vehicle_price", "¥"),
                InlineRadios("powertrain"),
            )
        )


# --- Step 3 ------------------------------------------------------------------------------------


class ProductChoiceField(forms.ModelChoiceField):
    """Products as radio buttons, each saying the smallest down payment it takes for this car."""

    def __init__(self, *args, application: LoanApplication, **kwargs):
        self.application = application
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: LoanProduct) -> str:
        app = self.application
        minimum = minimum_down_payment(
            product=obj, vehicle_price=app.vehicle_price, powertrain=app.powertrain
        )
        ratio = obj.min_down_payment_ratio_for(app.powertrain) * 100
        low_rate = obj.rate_range_for(app.powertrain)[0] * 100
        return _(
            "%(product)s — minimum down payment ¥%(minimum)s (%(percent)s%%), annual rate from %(rate)s%%"
        ) % {
            "product": obj,
            "minimum": fen(minimum),
            "percent": f"{ratio.normalize():f}",
            "rate": f"{low_rate:.2f}",
        }


class LoanForm(forms.Form):
    down_payment = forms.DecimalField(
        label=_("Down payment"), min_value=Decimal(0), widget=_money_input(), **MONEY
    )
    requested_amount = forms.DecimalField(
        label=_("Amount to borrow"),
        min_value=Decimal("0.01"),
        help_text=_("At most the price minus the down payment."),
        widget=_money_input(),
        **MONEY,
    )
    # A number, not a fixed choice: whether the chosen product offers it is the service's to say.
    term_months = forms.IntegerField(label=_("Term"), widget=forms.Select)

    def __init__(self, *args, application: LoanApplication, **kwargs):
        if application.has_loan():
            kwargs.setdefault(
                "initial",
                {
                    "product": application.product_id,
                    "down_payment": application.down_payment,
                    "requested_amount": application.requested_amount,
                    "term_months": application.term_months,
                },
            )
        super().__init__(*args, **kwargs)
        suited = list(products_for(application.powertrain))
        # Every active product is accepted here, so that a product not meant for this car gets
        # the service's clear message rather than "not a valid choice"; only suited ones are shown.
        product = ProductChoiceField(
            label=_("Loan product"),
            queryset=LoanProduct.objects.filter(is_active=True),
            application=application,
            widget=forms.RadioSelect,
            empty_label=None,
        )
        product.widget.choices = [(p.pk, product.label_from_instance(p)) for p in suited]
        self.fields = {"product": product, **self.fields}
        terms = sorted({term for p in suited for term in p.terms})
        self.fields["term_months"].widget.choices = [
            (term, _("%(months)s months (%(years)s years)") % {"months": term, "years": f"{term / 12:g}"})
            for term in terms
        ]
        if not self.is_bound and "term_months" not in self.initial and 36 in terms:
            self.initial["term_months"] = 36
        self.helper = _helper(
            Layout(
                "product",
                Row(
                    Column(PrependedText("down_payment", "¥"), css_class="col-12 col-md-6"),
                    Column(PrependedText("requested_amount", "¥"), css_class="col-12 col-md-6"),
                ),
                "term_months",
            )
        )


# --- Step 4 ------------------------------------------------------------------------------------


class ConsentForm(forms.Form):
    credit_check = forms.BooleanField(
        label=_(
            "I agree that the lender may obtain my credit report from the credit bureau to assess this application."
        ),
        error_messages={"required": _("We cannot assess your application without this consent.")},
    )
    privacy_notice = forms.BooleanField(
        error_messages={"required": _("Please confirm that you have read the privacy notice.")},
    )

    def __init__(self, *args, granted: set[str] = frozenset(), **kwargs):
        kwargs.setdefault("initial", dict.fromkeys(granted, True))
        super().__init__(*args, **kwargs)
        self.fields["privacy_notice"].label = _(
            "I have read and accept the privacy notice (version %(version)s)."
        ) % {"version": settings.PRIVACY_NOTICE_VERSION}
        self.helper = _helper(Layout("credit_check", "privacy_notice"))


# --- Documents ---------------------------------------------------------------------------------


# A hint to the phone's file picker only: the service judges a file by its content (``upload_check``).
UPLOAD_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.FileInput(attrs={"accept": UPLOAD_ACCEPT}),
        error_messages={"required": _("Choose a file to upload."), "empty": _("This file is empty.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("A PDF, JPEG or PNG file of at most %(limit)s MB.") % {
            "limit": settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
        }
        self.helper = _helper(Layout("file"))


class QuestionForm(forms.Form):
    """The customer's question on the timeline: text, and a file if it helps (checked by content in
    the service, as documents are)."""

    body = forms.CharField(
        label=_("Your question"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write your message.")},
    )
    attachment = forms.FileField(
        label=_("Attach a file (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": UPLOAD_ACCEPT}),
        error_messages={"empty": _("This file is empty.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachment"].help_text = _("A PDF, JPEG or PNG file of at most %(limit)s MB.") % {
            "limit": settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
        }
        self.helper = _helper(Layout("body", "attachment"))
