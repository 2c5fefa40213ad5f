"""The REST API for dealers' systems (``/api/v1/``): their files, each file's status and history
in the customer's words, its documents. Every write goes through the core's services, as the web
pages' do; the request acts as the dealership's API user (``models.DealerApiUser``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services
from applications.choices import (
    FINAL_STAGES,
    PARTNER_STEP_WORDS,
    PartnerStepKind,
    PartnerStepStatus,
    ReasonKind,
    Stage,
)
from applications.models import DocumentType, LoanApplication, LoanProduct, PartnerStep, Reason
from applications.selectors import application_timeline
from applications.templatetags.timeline import disbursement_text, expected_text, reply_by_text
from applications.views.timeline import history_entries

from .idempotency import HEADER, KEY_PATTERN, idempotent
from .pagination import UpdatedCursorPagination
from .problems import PROBLEM_CONTENT_TYPE, Problem, problem_body, problems
from .selectors import dealer_file_get, dealer_files, open_partner_step_get
from .serializers import (
    ApplicationStatusSerializer,
    ApplicationSummarySerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    HistorySerializer,
    PartnerReportSerializer,
    PartnerStepSerializer,
    WalkInSerializer,
    milestone_data,
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=True,
    description="A new value (e.g. a UUID) per request; a retry with the same value gets the first "
    "answer again. Kept 24 hours.",
)


class DealerView(APIView):
    """A dealership's view: authentication, scopes and the rate limit come from REST_FRAMEWORK."""

    def file_or_404(self, reference: str) -> LoanApplication:
        application = dealer_file_get(dealer=self.request.auth.dealer, reference=reference)
        if application is None:
            raise Problem("not-found", 404, _("No such application."))
        return application


class ListFilters(serializers.Serializer):
    updated_since = serializers.DateTimeField(
        required=False,
        help_text="Only files changed after this time (ISO 8601; without an offset, Asia/Shanghai time).",
    )
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)


class ApplicationListView(DealerView):
    pagination_class = UpdatedCursorPagination

    @extend_schema(
        operation_id="applications_list",
        summary="The dealership's files",
        description="Newest change first, 50 a page (page_size up to 200); follow `next` to walk "
        "the pages. To sync, pass the time you last asked, less a minute, as `updated_since` (a "
        "change carries the time it was made, which may be a moment before it is visible); "
        "files seen twice are simply the same file again.",
        parameters=[ListFilters],
        responses={200: ApplicationSummarySerializer(many=True), **problems(400, 401, 404, 406, 429)},
    )
    def get(self, request):
        filters = ListFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        files = dealer_files(dealer=request.auth.dealer, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(files, request, view=self)
        return paginator.get_paginated_response(ApplicationSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="applications_create",
        summary="Start a file for a walk-in buyer",
        description="The dealership starts a draft with the vehicle and the loan (checked as the "
        "web form checks them); the buyer is texted a link to claim it, give their own details "
        "and consents, and submit. The answer's `Location` is the file's status.",
        request=WalkInSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ApplicationSummarySerializer, **problems(400, 401, 403, 406, 415, 422, 429)},
    )
    @idempotent
    def post(self, request):
        walk_in = WalkInSerializer(data=request.data)
        walk_in.is_valid(raise_exception=True)
        fields = dict(walk_in.validated_data)
        product = LoanProduct.objects.filter(code=fields.pop("product")).first()
        if product is None:
            raise DjangoValidationError({"product": _("No loan product has this code.")})
        application = services.walk_in_start(
            dealer=request.auth.dealer,
            actor=request.user,
            buyer_name=fields.pop("buyer_name"),
            buyer_phone=fields.pop("buyer_phone"),
            product=product,
            **fields,
        )
        created = dealer_files(dealer=request.auth.dealer).get(pk=application.pk)
        body = ApplicationSummarySerializer(created).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


def _partner_words(step) -> str:
    words = PARTNER_STEP_WORDS.get(step.kind)
    if words is None:
        return ""
    return str(words.done if step.status == PartnerStepStatus.DONE else words.working)


def status_data(application: LoanApplication) -> dict:
    """The file's status as the customer's timeline tells it (``applications.selectors``)."""
    timeline = application_timeline(application=application, latest_events=0)
    definition = timeline.definition
    expectation, disbursement = timeline.expectation, timeline.disbursement
    delay = application.delay_reason if application.stage not in FINAL_STAGES else None
    return {
        "reference": application.reference,
        "display_reference": application.display_reference,
        "stage": application.stage,
        "stage_label": str(Stage(application.stage).label),
        "milestone": milestone_data(application.stage),
        "progress": timeline.progress,
        "title": definition.localized("title") if definition else str(Stage(application.stage).label),
        "explanation": definition.localized("explanation") if definition else "",
        "customer_action": definition.localized("customer_action") if definition else "",
        "is_final": timeline.is_final,
        "expected_at": expectation.expected_at if expectation else None,
        "expected_text": (
            expected_text(expectation.expected_at, expectation.remaining, now=timeline.now)
            if expectation
            else ""
        ),
        "expected_disbursement_at": disbursement.expected_at if disbursement else None,
        "disbursement_text": (
            disbursement_text(
                disbursement.expected_at,
                stage=application.stage,
                if_customer_acts_today=disbursement.if_customer_acts_today,
                now=timeline.now,
            )
            if disbursement
            else ""
        ),
        "reply_by": timeline.reply_by,
        "reply_by_text": reply_by_text(timeline.reply_by, now=timeline.now) if timeline.reply_by else "",
        "delay": (
            {"cause": delay.localized("text"), "what_happens_next": delay.localized("remedy")}
            if delay
            else None
        ),
        "documents_needed": [
            {
                "document_type": need.document_type.code,
                "name": need.document_type.localized("name"),
                "reason": need.reason.localized("text") if need.reason else "",
                "rejected": need.rejected,
            }
            for need in timeline.needs
        ],
        "partner_steps": [
            {
                "kind": step.kind,
                "status": step.status,
                "words": _partner_words(step),
                "usual_days": step.usual_days,
                "due_at": step.due_at,
            }
            for step in timeline.partner_steps
        ],
        "offer": (
            {
                "amount": application.approved_amount,
                "annual_rate": application.approved_rate,
                "term_months": application.approved_term_months,
            }
            if application.approved_amount is not None
            else None
        ),
        "closing_reason": timeline.closing_reason.localized("text") if timeline.closing_reason else "",
        "updated_at": application.updated_at,
    }


class ApplicationDetailView(DealerView):
    @extend_schema(
        operation_id="applications_status",
        summary="A file's status",
        description="Where the file stands, in the customer's words: the milestone, what happens "
        "now, the expected dates, what is still needed, the offer. `reference` as shown "
        "(ABCDE-FGHJK) or without the dash.",
        responses={200: ApplicationStatusSerializer, **problems(401, 404, 406, 429)},
    )
    def get(self, request, reference: str):
        application = self.file_or_404(reference)
        return Response(ApplicationStatusSerializer(status_data(application)).data)


class ApplicationHistoryView(DealerView):
    @extend_schema(
        operation_id="applications_history",
        summary="A file's history",
        description="What happened, newest first, in the customer's words: no staff names, no "
        "internal notes.",
        responses={200: HistorySerializer, **problems(401, 404, 406, 429)},
    )
    def get(self, request, reference: str):
        application = self.file_or_404(reference)
        timeline = application_timeline(application=application)
        entries = [
            {"at": entry.at, "title": entry.title, "detail": entry.detail, "tone": entry.tone}
            for entry in history_entries(timeline)
        ]
        return Response(HistorySerializer({"reference": application.reference, "entries": entries}).data)


class ApplicationDocumentsView(DealerView):
    @extend_schema(
        operation_id="documents_list",
        summary="A file's documents",
        responses={200: DocumentSerializer(many=True), **problems(401, 404, 406, 429)},
    )
    def get(self, request, reference: str):
        application = self.file_or_404(reference)
        documents = application.documents.select_related("document_type", "rejection_reason").order_by(
            "uploaded_at", "pk"
        )
        return Response(DocumentSerializer(documents, many=True).data)

    @extend_schema(
        operation_id="documents_upload",
        summary="Upload a document",
        description="The documents a dealership holds for the car: `vehicle_invoice` or "
        "`vehicle_certificate` (the buyer uploads their own), until the lien is registered. A PDF, "
        "JPEG or PNG (judged by its content, not its name), at most 10 MB; checked and stored as "
        "the buyer's own uploads are, with the same quotas.",
        request={"multipart/form-data": DocumentUploadSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: DocumentSerializer, **problems(400, 401, 403, 404, 406, 409, 415, 422, 429)},
    )
    @idempotent
    def post(self, request, reference: str):
        application = self.file_or_404(reference)
        upload = DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document_type = DocumentType.objects.filter(code=upload.validated_data["document_type"]).first()
        if document_type is None:  # a rule, like a type this file does not need: 422
            raise DjangoValidationError({"document_type": _("No document type has this code.")})
        document = services.dealer_document_upload(
            application=application,
            document_type=document_type,
            uploaded_file=upload.validated_data["file"],
            actor=request.user,
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


# The partner steps a dealership's own key may report: those its partners do at the showroom or
# for it (the insurer it sells with, the GPS installer, the agent registering the lien). The
# bureau's report, the e-signature service and the bank's transfer confirmation are not the
# dealership's to vouch for: those partners report with keys of their own (``ApiKey.step_kinds``),
# or staff record them in the back office.
DEALER_REPORTED_STEPS = frozenset(
    {PartnerStepKind.INSURANCE_POLICY, PartnerStepKind.GPS_INSTALLATION, PartnerStepKind.LIEN_REGISTRATION}
)


class PartnerStepReportView(DealerView):
    # A partner's key may call this view, and only this one (``permissions.PartnerKeyLimits``).
    partner_keys_allowed = True

    @extend_schema(
        operation_id="partner_steps_report",
        summary="Report a partner's step",
        description="A partner's progress on the file's latest step of this kind: `in_progress`, "
        "`done`, `failed` (with a cause of delay from the catalogue, which becomes the file's), or "
        "`requested` again after a failure. The same status again changes nothing. A dealership's "
        "key reports insurance_policy, gps_installation and lien_registration on its own files. A "
        "partner's key reports the kinds it was given, on any file whose latest step of that kind "
        "is still open (requested or in progress); other files answer 404.",
        request=PartnerReportSerializer,
        parameters=[
            IDEMPOTENCY_PARAMETER,
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=PartnerStepKind.values),
        ],
        responses={200: PartnerStepSerializer, **problems(400, 401, 403, 404, 406, 409, 415, 422, 429)},
    )
    @idempotent
    def post(self, request, reference: str, kind: str):
        api_key = request.auth
        if api_key.is_partner:
            step = self._partners_step(reference, kind)
        else:
            step = self._dealerships_step(reference, kind)
        report = PartnerReportSerializer(data=request.data)
        report.is_valid(raise_exception=True)
        cause = None
        if code := report.validated_data.get("cause"):
            cause = Reason.objects.filter(code=code, kind=ReasonKind.DELAY, is_active=True).first()
            if cause is None:
                raise DjangoValidationError({"cause": _("No cause of delay has this code.")})
        # actor None: the partner itself, as the core's callback path has it; which key reported
        # is on the idempotency record.
        step = services.partner_step_report(
            step=step,
            status=report.validated_data["status"],
            note=report.validated_data.get("note", ""),
            cause=cause,
            actor=None,
        )
        return Response(PartnerStepSerializer(step).data)

    def _dealerships_step(self, reference: str, kind: str) -> PartnerStep:
        """The latest step of ``kind`` on one of the dealership's files, of a kind its partners do."""
        application = self.file_or_404(reference)
        if kind not in PartnerStepKind.values:
            raise Problem("not-found", 404, _("No such partner step."))
        if kind not in DEALER_REPORTED_STEPS:
            raise Problem("forbidden", 403, _("A dealership's key may not report this partner's step."))
        step = application.partner_steps.filter(kind=kind).order_by("-requested_at", "-pk").first()
        if step is None:
            raise Problem("not-found", 404, _("This application has no such partner step."))
        return step

    def _partners_step(self, reference: str, kind: str) -> PartnerStep:
        """The latest step of one of the partner's kinds on any file, while it is open: a partner
        sees no file it has nothing to do on (a closed or missing step answers as no file)."""
        if kind not in PartnerStepKind.values:
            raise Problem("not-found", 404, _("No such partner step."))
        if kind not in self.request.auth.step_kinds:
            raise Problem("forbidden", 403, _("This partner's key may not report this kind of step."))
        step = open_partner_step_get(reference=reference, kind=kind)
        if step is None:
            raise Problem("not-found", 404, _("No application has this partner step open."))
        return step


def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other address under /api/: a problem, not the site's HTML page."""
    return JsonResponse(
        problem_body("not-found", 404, _("There is nothing at this address.")),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
