"""What the API answers and takes. Personal data is masked as the back office shows it (张*,
138****5678): a dealer's system never receives an ID number, a full name or a full phone number."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applications.choices import (
    DocumentStatus,
    PartnerStepKind,
    PartnerStepStatus,
    Powertrain,
    Stage,
    milestone_of,
)
from applications.models import Document, LoanApplication, PartnerStep
from common.pii import mask_name


class MilestoneSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 to 5: the customer's five steps.")
    title = serializers.CharField()


def milestone_data(stage: str) -> dict | None:
    milestone = milestone_of(stage)
    return {"number": milestone.number, "title": str(milestone.title)} if milestone else None


class ApplicationSummarySerializer(serializers.ModelSerializer):
    """A file in the dealership's list."""

    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    stage_label = serializers.SerializerMethodField()
    milestone = serializers.SerializerMethodField()
    buyer_name = serializers.SerializerMethodField(help_text="Masked: the first character, then stars.")
    buyer_phone = serializers.SerializerMethodField(help_text="Masked: 138****5678.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = LoanApplication
        fields = [
            "reference",
            "display_reference",
            "url",
            "stage",
            "stage_label",
            "milestone",
            "buyer_name",
            "buyer_phone",
            "vehicle_make",
            "vehicle_model",
            "vehicle_price",
            "requested_amount",
            "term_months",
            "approved_amount",
            "created_at",
            "submitted_at",
            "closed_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_stage_label(self, application: LoanApplication) -> str:
        return str(Stage(application.stage).label)

    @extend_schema_field(MilestoneSerializer(allow_null=True))
    def get_milestone(self, application: LoanApplication) -> dict | None:
        return milestone_data(application.stage)

    @extend_schema_field(OpenApiTypes.STR)
    def get_buyer_name(self, application: LoanApplication) -> str:
        """The applicant's own details once given, else the name the dealer started the file with."""
        applicant = getattr(application, "applicant", None)
        if applicant is not None:
            return mask_name(applicant.full_name)
        claim = getattr(application, "walk_in", None)
        return claim.masked_buyer_name if claim is not None else ""

    @extend_schema_field(OpenApiTypes.STR)
    def get_buyer_phone(self, application: LoanApplication) -> str:
        applicant = getattr(application, "applicant", None)
        if applicant is not None:
            return applicant.masked_phone
        claim = getattr(application, "walk_in", None)
        return claim.masked_buyer_phone if claim is not None else ""

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, application: LoanApplication) -> str:
        return reverse("api:application-detail", kwargs={"reference": application.reference})


class DocumentNeedSerializer(serializers.Serializer):
    document_type = serializers.CharField(help_text="The document type's code, for the upload.")
    name = serializers.CharField()
    reason = serializers.CharField(help_text="Why it is needed or was not accepted; may be empty.")
    rejected = serializers.BooleanField(help_text="A copy was sent and not accepted.")


class OfferSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    annual_rate = serializers.DecimalField(max_digits=6, decimal_places=4, help_text="0.0385 is 3.85 %.")
    term_months = serializers.IntegerField()


class DelaySerializer(serializers.Serializer):
    cause = serializers.CharField()
    what_happens_next = serializers.CharField()


class PartnerSubStepSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PartnerStepKind.choices)
    status = serializers.ChoiceField(choices=PartnerStepStatus.choices)
    words = serializers.CharField(help_text="What the customer reads: who does what, in plain words.")
    usual_days = serializers.IntegerField(help_text="Usual length in working days; 0: under a day.")
    due_at = serializers.DateTimeField(allow_null=True)


class ApplicationStatusSerializer(serializers.Serializer):
    """Where a file stands, in the customer's words (the timeline's)."""

    reference = serializers.CharField()
    display_reference = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    stage_label = serializers.CharField()
    milestone = MilestoneSerializer(allow_null=True)
    progress = serializers.IntegerField(help_text="Percent, for a progress bar.")
    title = serializers.CharField(help_text="The current stage's title for the customer.")
    explanation = serializers.CharField(help_text="What happens now.")
    customer_action = serializers.CharField(help_text="What the buyer can do now; may be empty.")
    is_final = serializers.BooleanField()
    expected_at = serializers.DateTimeField(allow_null=True, help_text="The current stage's expected end.")
    expected_text = serializers.CharField()
    expected_disbursement_at = serializers.DateTimeField(allow_null=True)
    disbursement_text = serializers.CharField()
    reply_by = serializers.DateTimeField(
        allow_null=True, help_text="The buyer's deadline, when it waits on them."
    )
    reply_by_text = serializers.CharField()
    delay = DelaySerializer(allow_null=True, help_text="A recorded cause of delay.")
    documents_needed = DocumentNeedSerializer(many=True)
    partner_steps = PartnerSubStepSerializer(
        many=True, help_text="Third parties' steps of the current stage."
    )
    offer = OfferSerializer(allow_null=True)
    closing_reason = serializers.CharField(help_text="Why a closed file ended; may be empty.")
    updated_at = serializers.DateTimeField()


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()
    tone = serializers.ChoiceField(choices=["good", "bad", ""], help_text="good, bad or empty.")


class HistorySerializer(serializers.Serializer):
    reference = serializers.CharField()
    entries = HistoryEntrySerializer(many=True, help_text="Newest first; no staff names, no notes.")


class DocumentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    document_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.ChoiceField(choices=DocumentStatus.choices, read_only=True)
    status_label = serializers.SerializerMethodField()
    rejection_reason = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "document_type",
            "original_name",
            "content_type",
            "size",
            "status",
            "status_label",
            "rejection_reason",
            "uploaded_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_status_label(self, document: Document) -> str:
        return str(DocumentStatus(document.status).label)

    @extend_schema_field(OpenApiTypes.STR)
    def get_rejection_reason(self, document: Document) -> str:
        reason = document.rejection_reason
        return reason.localized("text") if reason else ""


class WalkInSerializer(serializers.Serializer):
    """A file for a walk-in buyer: who they are (they are texted a link to claim the file, then
    give their own details and consents) and the vehicle and loan, checked as the web form checks
    them."""

    buyer_name = serializers.CharField(max_length=60)
    buyer_phone = serializers.CharField(max_length=30, help_text="A mainland China mobile number.")
    vehicle_make = serializers.CharField(max_length=60)
    vehicle_model = serializers.CharField(max_length=80)
    vehicle_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    powertrain = serializers.ChoiceField(choices=Powertrain.choices)
    product = serializers.SlugField(max_length=30, help_text="A loan product's code, e.g. standard.")
    down_payment = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    requested_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    term_months = serializers.IntegerField(min_value=1, max_value=120)


class DocumentUploadSerializer(serializers.Serializer):
    document_type = serializers.SlugField(
        max_length=40, help_text="The document type's code: vehicle_invoice or vehicle_certificate."
    )
    file = serializers.FileField(help_text="A PDF, JPEG or PNG (judged by its content), at most 10 MB.")


class PartnerReportSerializer(serializers.Serializer):
    """A partner's progress on its step of a file."""

    status = serializers.ChoiceField(
        choices=PartnerStepStatus.choices,
        help_text="in_progress, done, failed (with a cause), or requested to start again after a failure.",
    )
    cause = serializers.SlugField(
        max_length=40, required=False, help_text="On failure: a cause of delay's code from the catalogue."
    )
    note = serializers.CharField(
        max_length=500, required=False, help_text="For staff; never shown to the buyer."
    )


class PartnerStepSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=PartnerStepKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=PartnerStepStatus.choices, read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)

    class Meta:
        model = PartnerStep
        fields = ["kind", "status", "stage", "requested_at", "due_at", "finished_at"]
        read_only_fields = fields
