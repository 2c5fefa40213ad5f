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
