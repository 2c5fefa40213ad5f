"""Who may call what: every endpoint for the key personas — the dealership's own key, its file
seen from another dealership (404), a revoked key and no key (401), a read-only key writing (403)."""

from __future__ import annotations

import uuid

import pytest

from applications.models import Document

from .builders import bearer, dealer_type, make_key, pdf_upload

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/applications/{ref}/",
    "/api/v1/applications/{ref}/history/",
    "/api/v1/applications/{ref}/documents/",
]


def _upload(api, reference: str, headers: dict):
    return api.post(
        f"/api/v1/applications/{reference}/documents/",
        {"document_type": dealer_type().code, "file": pdf_upload()},
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **headers,
    )


@pytest.mark.parametrize("path", READS)
def test_own_dealership_reads_its_file(api, own_file, reader, path):
    response = api.get(path.format(ref=own_file.reference), **reader)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", READS)
def test_another_dealerships_file_answers_404(api, own_file, other_file, writer, path):
    response = api.get(path.format(ref=other_file.reference), **writer)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


def test_another_dealerships_file_is_not_in_the_list(api, own_file, other_file, reader):
    references = [row["reference"] for row in api.get("/api/v1/applications/", **reader).json()["results"]]
    assert references == [own_file.reference]


def test_upload_to_another_dealerships_file_answers_404_and_stores_nothing(api, other_file, writer):
    assert _upload(api, other_file.reference, writer).status_code == 404
    assert not Document.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/applications/", *READS])
def test_revoked_key_answers_401(api, own_file, revoked_key, path):
    response = api.get(path.format(ref=own_file.reference), **bearer(revoked_key[1]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("path", ["/api/v1/applications/", *READS])
def test_no_key_answers_401(api, own_file, path):
    response = api.get(path.format(ref=own_file.reference))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_wrong_secret_with_a_real_prefix_answers_401(api, own_file, write_key):
    prefix = write_key[0].prefix
    response = api.get("/api/v1/applications/", **bearer(f"lp_{prefix}_{'A' * 43}"))
    assert response.status_code == 401


def test_a_session_is_not_a_key(api, own_file, dealer_user):
    """Dealer staff signed in to the web site get nothing from the API without a key."""
    api.force_login(dealer_user)
    assert api.get("/api/v1/applications/").status_code == 401


def test_revoked_key_may_not_upload(api, own_file, revoked_key):
    assert _upload(api, own_file.reference, bearer(revoked_key[1])).status_code == 401
    assert not Document.objects.exists()


def test_no_key_may_not_upload(api, own_file):
    assert _upload(api, own_file.reference, {}).status_code == 401


def test_read_only_key_may_not_upload(api, own_file, reader):
    response = _upload(api, own_file.reference, reader)
    assert response.status_code == 403
    assert "only read" in response.json()["detail"]
    assert not Document.objects.exists()


def test_write_key_uploads_to_its_own_file(api, own_file, writer, dealer):
    response = _upload(api, own_file.reference, writer)
    assert response.status_code == 201, response.content
    document = Document.objects.get()
    assert document.application == own_file
    assert str(document.public_id) == response.json()["id"]
    # The dealership's API user did it, a member of the dealership's staff.
    assert dealer.staff.filter(pk=document.uploaded_by_id).exists()


def test_a_key_of_another_dealership_sees_only_that_dealerships_files(
    api, own_file, other_file, other_dealer, manager
):
    _key, plaintext = make_key(dealer=other_dealer, created_by=manager)
    references = [
        r["reference"] for r in api.get("/api/v1/applications/", **bearer(plaintext)).json()["results"]
    ]
    assert references == [other_file.reference]
    assert api.get(f"/api/v1/applications/{own_file.reference}/", **bearer(plaintext)).status_code == 404
