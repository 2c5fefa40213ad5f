"""Every error of the API in one shape: RFC 9457 problem details, ``application/problem+json``.

    {"type": "tag:loanportal,2026:problem/invalid-request", "title": "Invalid request",
     "status": 400, "detail": "Check the fields listed in errors.",
     "errors": {"requested_amount": ["…"]}}

``type`` names the kind of problem (a tag URI: a name, not a page to fetch); ``title`` is the
same for every problem of a type; ``detail`` says what went wrong this time, in the request's
language; ``errors`` (field name → messages) only for invalid fields. ``PROBLEM_TYPES`` lists
every type, and the OpenAPI document (``ProblemSerializer``) describes the shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from applications.services import TransitionError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "tag:loanportal,2026:problem/"

# type slug → title; the title of a type never changes with the case.
PROBLEM_TYPES: dict[str, object] = {
    "invalid-request": gettext_lazy("Invalid request"),
    "not-authenticated": gettext_lazy("Authentication needed"),
    "forbidden": gettext_lazy("Not allowed"),
    "not-found": gettext_lazy("Not found"),
    "method-not-allowed": gettext_lazy("Method not allowed"),
    "not-acceptable": gettext_lazy("Not acceptable"),
    "unsupported-media-type": gettext_lazy("Unsupported media type"),
    "conflict": gettext_lazy("Not possible now"),
    "refused": gettext_lazy("Refused"),
    "idempotency-key-reused": gettext_lazy("Idempotency key reused"),
    "too-many-requests": gettext_lazy("Too many requests"),
    "server-error": gettext_lazy("Server error"),
}

_BY_CLASS: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ValidationError, "invalid-request"),
    (exceptions.ParseError, "invalid-request"),
    (exceptions.NotAuthenticated, "not-authenticated"),
    (exceptions.AuthenticationFailed, "not-authenticated"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.Throttled, "too-many-requests"),
)


class Problem(exceptions.APIException):
    """An error the API raises itself with its type named (``Problem("conflict", 409, detail)``)."""

    def __init__(self, kind: str, status_code: int, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.kind = kind
        self.status_code = status_code
        self.errors = errors


def problem_body(kind: str, status_code: int, detail: str, errors: dict | None = None) -> dict:
    body = {
        "type": TYPE_BASE + kind,
        "title": str(PROBLEM_TYPES[kind]),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    kind: str, status_code: int, detail: str, errors: dict | None = None, headers: dict | None = None
) -> Response:
    return Response(
        problem_body(kind, status_code, detail, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _field_errors(detail) -> dict[str, list[str]]:
    """DRF's and Django's error lists as {field: [messages]}; errors of the whole request under
    ``non_field_errors``, nested ones joined with dots (``file.0``)."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for field, value in detail.items():
            nested = _field_errors(value)
            for sub, messages in nested.items():
                key = str(field) if sub == "non_field_errors" else f"{field}.{sub}"
                flat.setdefault(key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {"non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for sub, messages in _field_errors(item).items():
                key = str(index) if sub == "non_field_errors" else f"{index}.{sub}"
                flat.setdefault(key, []).extend(messages)
        return flat
    return {"non_field_errors": [str(detail)]}


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: any error, including the services' own, as a problem.

    The services' refusals: a ``ValidationError`` (a file that is not a PDF, a quota reached)
    is 422 with its fields; a ``TransitionError`` (documents once review is over) is 409.
    Anything unexpected is logged and answered 500 with nothing about it.
    """
    set_rollback()
    if isinstance(exc, Problem):
        return problem_response(exc.kind, exc.status_code, str(exc.detail), exc.errors)
    if isinstance(exc, Http404):
        return problem_response("not-found", 404, _("Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response("forbidden", 403, str(exc) or _("You may not do this."))
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            "refused", 422, _("The request was refused: see errors."), _django_errors(exc)
        )
    if isinstance(exc, TransitionError):
        return problem_response("conflict", 409, str(exc))
    if isinstance(exc, exceptions.APIException):
        kind = next((kind for cls, kind in _BY_CLASS if isinstance(exc, cls)), None)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.ValidationError):
            return problem_response(
                "invalid-request",
                400,
                _("Check the fields listed in errors."),
                _field_errors(exc.detail),
                headers,
            )
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if kind is None:
            kind = "invalid-request" if exc.status_code < 500 else "server-error"
        return problem_response(kind, exc.status_code, str(detail), headers=headers)
    logger.exception("API request failed", exc_info=exc)
    return problem_response("server-error", 500, _("Something went wrong on our side. Try again later."))


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (``application/problem+json``), the shape of every error."""

    type = serializers.CharField(help_text="The kind of problem: tag:loanportal,2026:problem/<kind>.")
    title = serializers.CharField(help_text="The kind's title, the same for every problem of the kind.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong this time, in the request's language.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid fields: field name → messages (non_field_errors: the request as a whole).",
    )


def problems(*codes: int) -> dict:
    """The ``responses`` entries of an operation's errors, for ``extend_schema``."""
    described = {
        400: "The request is malformed or a field is invalid.",
        401: "No key, or a key that is unknown or revoked.",
        403: "The key's scope does not allow this.",
        404: "No such file among the dealership's.",
        406: "The Accept header names no type the API answers in.",
        409: "Not possible in the file's current stage.",
        415: "The body's content type is not one the operation takes.",
        422: "Refused by the rules (a file type, a quota), or an Idempotency-Key reused with another body.",
        429: "Too many requests with this key: wait for Retry-After seconds.",
    }
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=described[code])
        for code in codes
    }
