"""Documents at rest: sealed with a key of their own (wrapped with the PII keys) on local disk and in
object storage; in a bucket (an S3 server these tests start: moto's server mode) the server is
asked to encrypt too; the customer uploads and downloads through the usual pages either way; a key
rotation re-seals every file so the old key can go."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import boto3
import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from moto.server import ThreadedMotoServer

from applications import services
from applications.choices import Stage
from applications.models import Document, DocumentType, LoanApplication
from common.storage import MAGIC, SealedObjectDamaged, seal, unseal
from loanportal.settings.base import s3_document_storage

pytestmark = pytest.mark.django_db

# A real PNG signature, then bytes a leak would show: the ID number on the card's photo.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"ID 110101199003071234 " * 40


@pytest.fixture(autouse=True)
def clean_media():
    before = set(LoanApplication.objects.values_list("reference", flat=True))
    yield
    root = Path(django_settings.MEDIA_ROOT) / "documents"
    for reference in set(LoanApplication.objects.values_list("reference", flat=True)) - before:
        shutil.rmtree(root / reference, ignore_errors=True)


@pytest.fixture
def awaiting(draft, customer) -> LoanApplication:
    services.application_submit(application=draft, actor=customer)
    application = services.precheck_run(application_id=draft.pk)
    assert application.stage == Stage.AWAITING_DOCUMENTS
    return application


def first_type() -> DocumentType:
    return DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code").first()


def upload_through_the_page(client, application: LoanApplication, content: bytes = PNG) -> Document:
    url = reverse("applications:document_upload", args=[application.reference, first_type().code])
    response = client.post(url, {"file": SimpleUploadedFile("身份证.png", content, "image/png")})
    assert response.status_code == 302, response.content
    return Document.objects.filter(application=application).latest("uploaded_at")


def download_through_the_page(client, document: Document) -> bytes:
    url = reverse("applications:document_download", args=[document.application.reference, document.public_id])
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# --- The envelope -------------------------------------------------------------------------------


def test_a_sealed_object_opens_only_whole_and_unchanged():
    blob = seal(PNG)

    assert blob.startswith(MAGIC) and b"110101199003071234" not in blob
    assert unseal(blob) == PNG
    assert seal(PNG) != blob  # a new key and nonce for every object
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealedObjectDamaged):
        unseal(tampered)
    with pytest.raises(SealedObjectDamaged):
        unseal(blob[:-100])


def test_a_sealed_object_needs_the_pii_keys(settings):
    blob = seal(PNG)
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured, match="a key is missing"):
        unseal(blob)


def test_the_storage_refuses_to_open_a_file_for_writing():
    name = default_storage.save("documents/test-write/probe", ContentFile(b"x"))
    try:
        with pytest.raises(ValueError, match="reading only"):
            default_storage.open(name, "wb")
    finally:
        default_storage.delete(name)


# --- Local files (make run, tests) --------------------------------------------------------------


def test_on_local_disk_the_file_is_sealed_and_the_customer_gets_it_back(client, customer, awaiting):
    client.force_login(customer)

    document = upload_through_the_page(client, awaiting)

    on_disk = (Path(django_settings.MEDIA_ROOT) / document.file.name).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert b"110101199003071234" not in on_disk
    assert document.size == len(PNG)
    assert download_through_the_page(client, document) == PNG


def test_a_file_stored_before_encryption_is_still_served_and_rotation_seals_it(client, customer, awaiting):
    client.force_login(customer)
    document = upload_through_the_page(client, awaiting)
    path = Path(django_settings.MEDIA_ROOT) / document.file.name
    path.write_bytes(PNG)  # as the file system held it before this change

    assert download_through_the_page(client, document) == PNG
    call_command("rotate_pii_keys", stdout=StringIO())

    document.refresh_from_db()
    assert not path.exists()
    assert (Path(django_settings.MEDIA_ROOT) / document.file.name).read_bytes().startswith(MAGIC)
    assert download_through_the_page(client, document) == PNG


def test_after_rotation_the_new_key_alone_opens_every_document(client, customer, awaiting, settings):
    client.force_login(customer)
    document = upload_through_the_page(client, awaiting)
    old_name = document.file.name
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]

    out = StringIO()
    call_command("rotate_pii_keys", stdout=out)
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key removed, as the README says

    assert "1 document files" in out.getvalue()
    document.refresh_from_db()
    assert document.file.name != old_name
    assert document.file.name.startswith(f"documents/{awaiting.reference}/")
    assert not default_storage.exists(old_name)
    assert download_through_the_page(client, document) == PNG


# --- Object storage (S3 API) --------------------------------------------------------------------

BUCKET = "loanportal-documents-test"
CREDENTIALS = {"access_key": "test-access-key", "secret_key": "test-secret-key", "region": "cn-north-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3-compatible server on a free port of 127.0.0.1, for this module's tests only."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=CREDENTIALS["region"],
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    )
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["region"]}
    )
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.mark.parametrize(
    ("sse", "kms_key_id", "expected"),
    [
        ("AES256", "", {"ServerSideEncryption": "AES256"}),
        ("aws:kms", "alias/loanportal-documents", {"ServerSideEncryption": "aws:kms"}),
    ],
)
def test_in_a_bucket_the_object_is_sealed_server_side_encrypted_and_served_through_the_view(
    client, customer, awaiting, settings, s3_endpoint, bucket, sse, kms_key_id, expected
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_document_storage(
            bucket=BUCKET,
            endpoint_url=s3_endpoint,
            server_side_encryption=sse,
            kms_key_id=kms_key_id,
            **CREDENTIALS,
        ),
    }
    client.force_login(customer)

    document = upload_through_the_page(client, awaiting)

    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [document.file.name]
    stored = bucket.get_object(Bucket=BUCKET, Key=document.file.name)
    body = stored["Body"].read()
    assert body.startswith(MAGIC)
    assert b"110101199003071234" not in body
    head = bucket.head_object(Bucket=BUCKET, Key=document.file.name)
    assert {key: head[key] for key in expected} == expected
    if kms_key_id:
        assert kms_key_id in head["SSEKMSKeyId"]
    assert not Path(django_settings.MEDIA_ROOT, document.file.name).exists()  # nothing on local disk
    assert download_through_the_page(client, document) == PNG
