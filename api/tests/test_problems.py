"""Every error is an RFC 9457 problem: application/problem+json with type, title, status and
detail, and errors for fields; the rate limit answers 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from .builders import dealer_type, pdf_upload

pytestmark = pytest.mark.django_db

SHAPE = {"type", "title", "status", "detail"}


def _is_problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert SHAPE <= set(body) <= SHAPE | {"errors"}
    assert body["status"] == status
    assert body["type"] == f"tag:loanportal,2026:problem/{kind}"
    return body


def test_no_key(api):
    _is_problem(api.get("/api/v1/applications/"), 401, "not-authenticated")


def test_unknown_file(api, writer):
    _is_problem(api.get("/api/v1/applications/ZZZZZZZZZZ/", **writer), 404, "not-found")


def test_unknown_address_under_the_api(api, writer):
    _is_problem(api.get("/api/v1/nothing-here/", **writer), 404, "not-found")


def test_invalid_query_lists_the_field(api, writer):
    body = _is_problem(
        api.get("/api/v1/applications/?updated_since=yesterday", **writer), 400, "invalid-request"
    )
    assert list(body["errors"]) == ["updated_since"]


def test_invalid_upload_lists_the_fields(api, own_file, writer):
    response = api.post(
        f"/api/v1/applications/{own_file.reference}/documents/",
        {"document_type": "no-such-type"},
        HTTP_IDEMPOTENCY_KEY="k1",
        **writer,
    )
    body = _is_problem(response, 400, "invalid-request")
    assert set(body["errors"]) == {"file"}


def test_the_services_refusal_is_422_with_its_field(api, own_file, writer):
    response = api.post(
        f"/api/v1/applications/{own_file.reference}/documents/",
        {"document_type": dealer_type().code, "file": pdf_upload("payslip.pdf", b"not a pdf at all")},
        HTTP_IDEMPOTENCY_KEY="k2",
        **writer,
    )
    body = _is_problem(response, 422, "refused")
    assert "PDF, JPEG or PNG" in body["errors"]["file"][0]


def test_method_not_allowed(api, own_file, writer):
    _is_problem(
        api.delete(f"/api/v1/applications/{own_file.reference}/", **writer), 405, "method-not-allowed"
    )


def test_read_only_key_writing(api, own_file, reader):
    response = api.post(
        f"/api/v1/applications/{own_file.reference}/documents/", {}, HTTP_IDEMPOTENCY_KEY="k3", **reader
    )
    _is_problem(response, 403, "forbidden")


def test_in_the_requests_language(api, writer):
    response = api.get("/api/v1/applications/ZZZZZZZZZZ/", HTTP_ACCEPT_LANGUAGE="zh-hans", **writer)
    assert response.json()["title"] == "未找到"


def test_rate_limit_answers_429_with_retry_after(api, writer, settings):
    settings.API_RATE_LIMIT = 2
    cache.clear()
    assert api.get("/api/v1/applications/", **writer).status_code == 200
    assert api.get("/api/v1/applications/", **writer).status_code == 200
    response = api.get("/api/v1/applications/", **writer)
    _is_problem(response, 429, "too-many-requests")
    assert 1 <= int(response["Retry-After"]) <= 60
    cache.clear()
