"""Production: every secret from the environment; `check --deploy --fail-level WARNING` passes."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import PII_ENCRYPTION_KEYS, PII_HASH_KEY, REDIS_URL, SECRET_KEY, env, require

DEBUG = False
require("SECRET_KEY", SECRET_KEY)
require("PII_ENCRYPTION_KEYS", PII_ENCRYPTION_KEYS)
require("PII_HASH_KEY", PII_HASH_KEY)
require("REDIS_URL", REDIS_URL)
require("DATABASE_URL", env("DATABASE_URL", default=""))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")


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
