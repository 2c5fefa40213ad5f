"""Forms of the back office: one per kind of staff transition, document verdicts, reassignment.

Forms check what a form can (a reason of the right kind, a term the product offers, a rate in the
product's range, in per cent); the services stay the authority and check everything again.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from applications.choices import ReasonKind, Stage
from applications.models import DocumentType, LoanApplication, Reason
from common.money import fen

from .models import AssignmentRule, CannedAnswer

User = get_user_model()
PERCENT = Decimal(100)


def _reasons(kind: str):
    return Reason.objects.filter(kind=kind, is_active=True).order_by("code")


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Reason) -> str:
        return obj.localized("text")


def freeze_choices(field: forms.ModelChoiceField) -> None:
    """Read the choices once: a select's widget otherwise queries again to decide on ``required``."""
    field.widget.choices = [choice for choice in field.choices]  # noqa: C416 - list() would COUNT(*) first


class TransitionForm(forms.Form):
    """Every transition: an optional note, and the stage the page showed (to catch a concurrent
    change: if the application moved on meanwhile, the action is refused with a clear message)."""

    seen_stage = forms.ChoiceField(choices=Stage.choices, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Kept in the history; the customer does not see it."),
    )

    def __init__(self, *args, application: LoanApplication, **kwargs) -> None:
        self.application = application
        kwargs.setdefault("initial", {}).setdefault("seen_stage", application.stage)
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data["note"]}


class ReasonTransitionForm(TransitionForm):
    """Reject or decline: a reason from the catalogue, which the customer is shown."""

    reason_kind = ReasonKind.REJECTION

    reason = ReasonChoiceField(
        label=_("Reason (the customer sees it)"), queryset=Reason.objects.none(), empty_label=None
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = _reasons(self.reason_kind)
        freeze_choices(self.fields["reason"])
        self.order_fields(["reason", "note"])

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "reason": self.cleaned_data["reason"]}


class RequestDocumentsForm(ReasonTransitionForm):
    reason_kind = ReasonKind.DOCUMENT

    document_types = forms.ModelMultipleChoiceField(
        label=_("Documents to request"),
        queryset=DocumentType.objects.order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one document to request.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["document_types", "reason", "note"])

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "document_types": list(self.cleaned_data["document_types"])}


class ApprovalForm(TransitionForm):
    """The offer: amount up to the requested amount and the product's limit, a rate in the
    product's range (entered in per cent), a term the product offers."""

    amount = forms.DecimalField(label=_("Amount (¥)"), max_digits=12, decimal_places=2, min_value=0)
    rate_percent = forms.DecimalField(
        label=_("Annual rate (%)"), max_digits=6, decimal_places=2, min_value=0, max_value=100
    )
    term_months = forms.TypedChoiceField(label=_("Term (months)"), coerce=int)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        application = self.application
        product = application.product
        low, high = product.rate_range_for(application.powertrain)
        self.rate_range = (low * PERCENT, high * PERCENT)
        self.amount_range = (product.min_amount, min(product.max_amount, application.requested_amount))
        self.fields["amount"].help_text = _("From ¥%(low)s to ¥%(high)s.") % {
            "low": fen(self.amount_range[0]),
            "high": fen(self.amount_range[1]),
        }
        self.fields["rate_percent"].help_text = _("From %(low)s %% to %(high)s %%.") % {
            "low": f"{self.rate_range[0]:.2f}",
            "high": f"{self.rate_range[1]:.2f}",
        }
        self.fields["term_months"].choices = [(t, str(t)) for t in product.terms]
        self.initial.setdefault("amount", application.requested_amount)
        self.initial.setdefault("rate_percent", (low * PERCENT).quantize(Decimal("0.01")))
        self.initial.setdefault("term_months", application.term_months)
        self.order_fields(["amount", "rate_percent", "term_months", "note"])

    def clean_rate_percent(self) -> Decimal:
        rate = self.cleaned_data["rate_percent"]
        low, high = self.rate_range
        if not (low <= rate <= high):
            raise forms.ValidationError(
                _("The rate must be between %(low)s %% and %(high)s %%.")
                % {"low": f"{low:.2f}", "high": f"{high:.2f}"}
            )
        return rate

    def service_kwargs(self) -> dict:
        return {
            **super().service_kwargs(),
            "amount": self.cleaned_data["amount"],
            "rate": self.cleaned_data["rate_percent"] / PERCENT,
            "term_months": self.cleaned_data["term_months"],
        }

    # The service reports the rate as a fraction on "rate"; the form shows it on its per-cent field.
    service_field_names = {"rate": "rate_percent"}


class DocumentVerdictForm(forms.Form):
    """Accept or reject one document; a rejection needs a document problem from the catalogue."""

    document = forms.UUIDField(widget=forms.HiddenInput)
    verdict = forms.ChoiceField(choices=[("accept", "accept"), ("reject", "reject")])
    reason = ReasonChoiceField(queryset=Reason.objects.none(), required=False, label=_("Problem"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = _reasons(ReasonKind.DOCUMENT)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("verdict") == "reject" and not data.get("reason"):
            self.add_error("reason", _("Choose what is wrong with the document."))
        return data


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none())

    def __init__(self, *args, assignees, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class DelayCauseForm(forms.Form):
    """The cause of a delay, from the catalogue's active delay reasons, with a note for staff."""

    reason = forms.ModelChoiceField(label=_("Cause of delay"), queryset=Reason.objects.none())
    note = forms.CharField(
        label=_("Note for staff (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The customer is shown the cause and its remedy, never this note."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = Reason.objects.filter(kind=ReasonKind.DELAY, is_active=True)


class AssignmentRuleForm(forms.ModelForm):
    """The stages as checkboxes instead of raw JSON."""

    stages = forms.MultipleChoiceField(
        label=_("stages"), choices=Stage.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AssignmentRule
        fields = (
            "name",
            "role",
            "stages",
            "min_amount",
            "max_amount",
            "dealer_region",
            "priority",
            "is_active",
        )


class CannedAnswerSelect(forms.Select):
    """The canned answers, each option carrying its text (``data-text``) for the page's script to
    put into the answer box, where staff may still edit it."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-text"] = instance.text
        return option


class AnswerForm(forms.Form):
    """Staff's reply on a question thread: an answer the customer reads, or an internal note.
    Picking a canned answer fills the box (static/reviews/canned.js); left empty, the canned
    answer's text is sent as it is."""

    canned = forms.ModelChoiceField(
        label=_("Canned answer"),
        queryset=CannedAnswer.objects.filter(is_active=True),
        required=False,
        empty_label=_("— write your own —"),
        widget=CannedAnswerSelect(attrs={"data-canned-for": "id_body"}),
    )
    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 60})
    )
    internal = forms.BooleanField(label=_("Internal note (the customer never sees it)"), required=False)

    def clean(self):
        cleaned = super().clean()
        body = (cleaned.get("body") or "").strip()
        canned = cleaned.get("canned")
        if not body and canned is not None and not cleaned.get("internal"):
            body = canned.text
        if not body:
            raise forms.ValidationError(_("Write a message or pick a canned answer."))
        cleaned["body"] = body
        return cleaned
