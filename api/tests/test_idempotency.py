"""Idempotency-Key: a retried POST gets the first answer and never makes a second document; the
same key with another body is refused; concurrent retries make one; records go after a day."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from api.models import IdempotencyRecord
from api.services import idempotency_records_purge
from applications.models import Document

from .builders import PDF, dealer_type, pdf_upload

pytestmark = pytest.mark.django_db


def _upload(client, reference, headers, key, *, name="invoice.pdf", content=PDF):
    return client.post(
        f"/api/v1/applications/{reference}/documents/",
        {"document_type": dealer_type().code, "file": pdf_upload(name, content)},
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def test_a_retry_returns_the_first_answer_and_stores_one_document(api, own_file, writer):
    first = _upload(api, own_file.reference, writer, "retry-1")
    again = _upload(api, own_file.reference, writer, "retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Document.objects.count() == 1


def test_a_new_key_is_a_new_request(api, own_file, writer):
    _upload(api, own_file.reference, writer, "one")
    _upload(api, own_file.reference, writer, "two")
    assert Document.objects.count() == 2


def test_the_same_key_with_another_body_answers_422(api, own_file, writer):
    _upload(api, own_file.reference, writer, "reused")
    response = _upload(api, own_file.reference, writer, "reused", content=PDF + b"another file")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert Document.objects.count() == 1


def test_keys_belong_to_one_api_key(api, own_file, writer, dealer, manager):
    """Two systems of one dealership choosing the same key do not see each other's answers."""
    from .builders import bearer, make_key

    _key, other = make_key(dealer=dealer, created_by=manager, name="Second DMS")
    _upload(api, own_file.reference, writer, "shared")
    response = _upload(api, own_file.reference, bearer(other), "shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Document.objects.count() == 2


def test_a_refusal_is_the_first_answer_too(api, own_file, writer):
    """A file that is not a PDF, JPEG or PNG is refused; its retry is refused alike, from the record."""
    first = _upload(api, own_file.reference, writer, "bad", name="x.pdf", content=b"plain text")
    again = _upload(api, own_file.reference, writer, "bad", name="x.pdf", content=b"plain text")
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again["Content-Type"] == "application/problem+json"
    assert not Document.objects.exists()


def test_a_post_without_the_header_answers_400(api, own_file, writer):
    response = api.post(
        f"/api/v1/applications/{own_file.reference}/documents/",
        {"document_type": dealer_type().code, "file": pdf_upload()},
        **writer,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Document.objects.exists()


def test_records_are_purged_after_a_day(api, own_file, writer):
    _upload(api, own_file.reference, writer, "old")
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=23), tick=False):
        assert idempotency_records_purge() == 0
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=24, minutes=1), tick=False):
        assert idempotency_records_purge() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_key_past_its_day_starts_afresh(api, own_file, writer):
    _upload(api, own_file.reference, writer, "day-old")
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25), tick=False):
        response = _upload(api, own_file.reference, writer, "day-old")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Document.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_make_one_document(own_file, writer):
    """Two requests with one key at the same moment: the second waits on the record's unique
    constraint until the first commits, then answers the first answer."""
    barrier = threading.Barrier(2)
    answers = []

    def send():
        try:
            barrier.wait(timeout=10)
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            response = _upload(client, own_file.reference, writer, "concurrent")
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
    assert Document.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_a_server_error_is_not_kept_so_a_retry_runs_again(api, own_file, writer, monkeypatch):
    from applications import services

    upload = services.dealer_document_upload

    def broken(**kwargs):
        raise RuntimeError("the bucket is away")

    monkeypatch.setattr(services, "dealer_document_upload", broken)
    first = _upload(api, own_file.reference, writer, "flaky")
    assert first.status_code == 500
    assert first["Content-Type"] == "application/problem+json"
    assert first.json()["type"].endswith("/server-error")
    assert "bucket" not in first.content.decode()  # nothing of the failure's own text
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(services, "dealer_document_upload", upload)
    again = _upload(api, own_file.reference, writer, "flaky")
    assert again.status_code == 201
    assert Document.objects.count() == 1
