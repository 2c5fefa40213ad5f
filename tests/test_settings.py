"""Production settings: refuse to start without secrets, and pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The child must not inherit what the test run set for itself (keys, async-unsafe mode).
    inherited = ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_HASH_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG")
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "loanportal.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-1234567890",
    "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "PII_HASH_KEY": "hash-key-for-tests",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/loanportal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "loans.example.cn",
    "DOCUMENTS_BUCKET": "loanportal-documents",
}


def test_production_settings_pass_the_deployment_checks():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_encryption_key_fails_at_start_with_a_clear_message():
    result = _manage("check", **{**PRODUCTION, "PII_ENCRYPTION_KEYS": "not-a-key"})
    assert result.returncode != 0
    assert "key 1 is not a Fernet key" in result.stderr


def test_without_a_database_url_the_start_says_how_to_get_one():
    result = _manage("check", **{**PRODUCTION, "DATABASE_URL": ""})
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "make run" in result.stderr


def test_a_database_other_than_postgresql_is_refused_at_start():
    result = _manage("check", **{**PRODUCTION, "DATABASE_URL": "sqlite:///var/loanportal.sqlite3"})
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_production_keeps_documents_in_a_bucket_and_refuses_to_start_without_one():
    env = {k: v for k, v in PRODUCTION.items() if k != "DOCUMENTS_BUCKET"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "DOCUMENTS_BUCKET must be set" in result.stderr

    local = _manage("check", **{**env, "DOCUMENTS_STORAGE": "local"})
    assert local.returncode == 0, local.stderr


def test_an_unknown_server_side_encryption_fails_at_start():
    result = _manage("check", **{**PRODUCTION, "DOCUMENTS_S3_SSE": "aes"})
    assert result.returncode != 0
    assert "DOCUMENTS_S3_SSE must be AES256, aws:kms or empty" in result.stderr


def test_production_always_asks_staff_for_the_second_factor():
    script = "from django.conf import settings; print(settings.STAFF_REQUIRE_2FA)"
    result = _manage("shell", "--no-imports", "-c", script, **{**PRODUCTION, "STAFF_REQUIRE_2FA": "false"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]
