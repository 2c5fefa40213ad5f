"""A dealer's system starts a file for a walk-in buyer (the core's ``walk_in_start``): the draft of
its dealership, the buyer texted a link to claim it; a retry with the same Idempotency-Key never
starts a second file; the buyer's own documents are theirs to upload."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from api.models import Scope
from applications.choices import Stage
from applications.models import Document, LoanApplication, WalkInClaim
from common import sms

from .builders import bearer, buyers_type, make_key, pdf_upload, walk_in_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/applications/"


def _create(client, headers, key="create-1", **changes):
    return client.post(
        URL, walk_in_body(**changes), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **headers
    )


def test_a_write_key_starts_a_file_for_a_walk_in_buyer(
    api, writer, dealer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(api, writer)
    assert response.status_code == 201, response.content
    body = response.json()
    application = LoanApplication.objects.get(reference=body["reference"])
    assert (application.dealer, application.stage, application.customer) == (dealer, Stage.DRAFT, None)
    assert response["Location"] == f"/api/v1/applications/{application.reference}/"
    assert (body["buyer_name"], body["buyer_phone"]) == ("李*", "139****5678")
    assert WalkInClaim.objects.get(application=application).buyer_phone == "13912345678"
    assert [message.phone for message in sms.outbox] == ["13912345678"]  # the link to claim it
    # Its status reads back with the same key.
    assert api.get(response["Location"], **writer).json()["stage"] == Stage.DRAFT


def test_a_retry_returns_the_same_file(api, writer):
    first = _create(api, writer, key="same")
    again = _create(api, writer, key="same")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert LoanApplication.objects.count() == 1


def test_the_same_key_for_another_buyer_answers_422(api, writer):
    _create(api, writer, key="same")
    response = _create(api, writer, key="same", buyer_name="王芳")
    assert response.status_code == 422
    assert LoanApplication.objects.count() == 1


def test_the_forms_rules_apply(api, writer):
    response = _create(api, writer, buyer_phone="12345", down_payment="1000.00")
    assert response.status_code == 422
    assert "buyer_phone" in response.json()["errors"]
    assert not LoanApplication.objects.exists()


def test_an_unknown_product_is_refused(api, writer):
    response = _create(api, writer, product="no-such-product")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["product"]


def test_a_malformed_body_lists_the_fields(api, writer):
    response = _create(api, writer, vehicle_price="a lot", term_months=None)
    assert response.status_code == 400
    assert {"vehicle_price", "term_months"} <= set(response.json()["errors"])


def test_a_read_only_key_may_not_start_a_file(api, reader):
    assert _create(api, reader).status_code == 403
    assert not LoanApplication.objects.exists()


def test_a_revoked_key_or_none_may_not_start_a_file(api, revoked_key):
    assert _create(api, bearer(revoked_key[1])).status_code == 401
    assert _create(api, {}).status_code == 401
    assert not LoanApplication.objects.exists()


def test_another_dealerships_key_does_not_see_the_file(api, writer, other_dealer, manager):
    reference = _create(api, writer).json()["reference"]
    _key, other = make_key(dealer=other_dealer, created_by=manager, scope=Scope.READ)
    assert api.get(f"{URL}{reference}/", **bearer(other)).status_code == 404
    assert api.get(URL, **bearer(other)).json()["results"] == []


def test_the_buyers_own_documents_are_theirs_to_upload(api, writer):
    reference = _create(api, writer).json()["reference"]
    response = api.post(
        f"{URL}{reference}/documents/",
        {"document_type": buyers_type().code, "file": pdf_upload()},
        HTTP_IDEMPOTENCY_KEY="id-card",
        **writer,
    )
    assert response.status_code == 422
    assert "buyer uploads this document" in response.json()["errors"]["file"][0]
    assert not Document.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_start_one_file(writer):
    barrier = threading.Barrier(2)
    answers = []

    def send():
        try:
            barrier.wait(timeout=10)
            response = _create(Client(HTTP_ACCEPT_LANGUAGE="en"), writer, key="at-once")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _body in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert LoanApplication.objects.count() == 1
