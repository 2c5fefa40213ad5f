"""Development: `make run` on a bare machine. Insecure, local-only keys derived from a fixed string."""

from __future__ import annotations

import base64
import hashlib

from .base import *  # noqa: F403
from .base import VAR_DIR, env

VAR_DIR.mkdir(exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="development-only-not-secret")
# The sandbox partners answer partner steps by themselves (README: "Partner steps").
PARTNER_SANDBOX = env.bool("PARTNER_SANDBOX", default=DEBUG)


def _dev_key(label: str) -> str:
    digest = hashlib.sha256(f"loanportal-development-{label}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[_dev_key("pii")])
PII_HASH_KEY = env("PII_HASH_KEY", default=_dev_key("hash"))
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The demo's staff sign in with their password alone unless asked (README: the second factor).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
STORAGES = {
    "default": {"BACKEND": "common.storage.EncryptedFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
