"""The dealer's forms: a walk-in buyer's application, the search box, a document the dealership
holds. As the customer's forms: the shape of the input here, the business rules in the services
(``services.dealer.walk_in_start`` runs the customer's own vehicle and loan checks)."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.bootstrap import PrependedText
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .choices import Powertrain
from .forms import MONEY, _helper, _money_input
from .models import Dealer, LoanProduct


class WalkInForm(forms.Form):
    dealer = forms.ModelChoiceField(label=_("Dealership"), queryset=Dealer.objects.none(), empty_label=None)
    buyer_name = forms.CharField(
        label=_("Buyer's name"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    buyer_phone = forms.CharField(
        label=_("Buyer's mobile number"),
        max_length=20,
        help_text=_(
            "We text the buyer a link to this number; they complete and send the application themselves."
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    vehicle_make = forms.CharField(label=_("Make"), max_length=60)
    vehicle_model = forms.CharField(label=_("Model"), max_length=80)
    vehicle_price = forms.DecimalField(
        label=_("Price of the vehicle"), min_value=Decimal("0.01"), widget=_money_input(), **MONEY
    )
    powertrain = forms.ChoiceField(
        label=_("Powertrain"), choices=Powertrain.choices, widget=forms.RadioSelect
    )
    product = forms.ModelChoiceField(
        label=_("Loan product"), queryset=LoanProduct.objects.filter(is_active=True), empty_label=None
    )
    down_payment = forms.DecimalField(
        label=_("Down payment"), min_value=Decimal(0), widget=_money_input(), **MONEY
    )
    requested_amount = forms.DecimalField(
        label=_("Amount to borrow"), min_value=Decimal("0.01"), widget=_money_input(), **MONEY
    )
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=120, initial=36)

    def __init__(self, *args, dealerships: QuerySet[Dealer], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dealer"].queryset = dealerships
        self.helper = _helper(
            Layout(
                "dealer",
                Row(
                    Column("buyer_name", css_class="col-12 col-md-6"),
                    Column(Field("buyer_phone"), css_class="col-12 col-md-6"),
                ),
                Row(
                    Column("vehicle_make", css_class="col-12 col-md-6"),
                    Column("vehicle_model", css_class="col-12 col-md-6"),
                ),
                PrependedText("vehicle_price", "¥"),
                "powertrain",
                "product",
                Row(
                    Column(PrependedText("down_payment", "¥"), css_class="col-12 col-md-6"),
                    Column(PrependedText("requested_amount", "¥"), css_class="col-12 col-md-6"),
                ),
                "term_months",
            )
        )


class DealerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Reference, buyer's name or mobile number"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
