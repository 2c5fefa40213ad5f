"""Production: every secret from the environment; `check --deploy --fail-level WARNING` passes."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import (
    PII_ENCRYPTION_KEYS,
    PII_HASH_KEY,
    REDIS_URL,
    SECRET_KEY,
    STORAGES,
    env,
    require,
    s3_document_storage,
)

DEBUG = False
require("SECRET_KEY", SECRET_KEY)
require("PII_ENCRYPTION_KEYS", PII_ENCRYPTION_KEYS)
require("PII_HASH_KEY", PII_HASH_KEY)
require("REDIS_URL", REDIS_URL)
require("DATABASE_URL", env("DATABASE_URL", default=""))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# A load balancer probes its hosts over plain HTTP: /health/ answers it instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Every staff account signs in with a second factor; not a switch in production.
STAFF_REQUIRE_2FA = True
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Documents in object storage (S3 API): DOCUMENTS_STORAGE=local keeps them under MEDIA_ROOT instead
# (one host, or a shared volume). Sealed with the PII keys either way (common/storage.py).
DOCUMENTS_STORAGE = env("DOCUMENTS_STORAGE", default="s3")
if DOCUMENTS_STORAGE == "s3":
    require("DOCUMENTS_BUCKET", env("DOCUMENTS_BUCKET", default=""))
    STORAGES = {
        **STORAGES,
        "default": s3_document_storage(
            bucket=env("DOCUMENTS_BUCKET"),
            endpoint_url=env("DOCUMENTS_S3_ENDPOINT_URL", default=""),
            region=env("DOCUMENTS_S3_REGION", default=""),
            access_key=env("DOCUMENTS_S3_ACCESS_KEY_ID", default=""),
            secret_key=env("DOCUMENTS_S3_SECRET_ACCESS_KEY", default=""),
            server_side_encryption=env("DOCUMENTS_S3_SSE", default="AES256"),
            kms_key_id=env("DOCUMENTS_S3_KMS_KEY_ID", default=""),
        ),
    }
elif DOCUMENTS_STORAGE != "local":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"DOCUMENTS_STORAGE must be s3 or local, not {DOCUMENTS_STORAGE!r}.")


def _check_fernet_keys(keys: list[str]) -> None:
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"PII_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None


_check_fernet_keys(PII_ENCRYPTION_KEYS)
