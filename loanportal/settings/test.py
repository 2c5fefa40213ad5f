"""Tests: fast hashing, eager defaults; DATABASE_URL / REDIS_URL still select real servers."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

# `make test` runs the suite on every core (pytest-xdist). Each worker (gw0, gw1, …) has a test
# database of its own (pytest-django adds the suffix); here it also gets a Redis database of its own
# (the one REDIS_URL names plus its number: cache, sessions and a real worker's broker queue) and
# its own folder of stored documents, so two workers never read each other's keys, tasks or files.
# Set before the settings below read REDIS_URL; a Celery worker a test starts inherits the result
# (and the marker, so its own settings do not add the number a second time).
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_redis_url = os.environ.get("REDIS_URL", "")
if (
    _xdist_worker.startswith("gw")
    and _redis_url.startswith("redis://")
    and "LOANPORTAL_WORKER_REDIS" not in os.environ
):
    _redis = urlsplit(_redis_url)
    _database = int(_redis.path.strip("/") or 0) + int(_xdist_worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_database}"))
    os.environ["LOANPORTAL_WORKER_REDIS"] = _xdist_worker

from .development import *  # noqa: E402, F403
from .development import LOANPORTAL_STAGE_HOOKS, VAR_DIR, env  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media" / (_xdist_worker or "main")
# Unit tests run tasks in-process; the integration tests start a real worker against Redis.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# django-axes needs the request in authenticate(), which the test client's login() does not pass;
# the throttling tests switch it on with the `settings` fixture.
AXES_ENABLED = False
# As served with Redis, whether or not this run has it: the test server shares the tests' process
# and so their cache, and the query counts the tests pin are the same either way.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Off: tests change files behind the services' back and read the page again; the cache's own
# tests switch it on.
TIMELINE_CACHE_SECONDS = 0
# Off for the same reason; the report cache's own tests switch it on.
REPORT_CACHE_SECONDS = 0
# Off, so tests signing staff in with force_login reach the back office; the second factor's own
# tests (accounts/tests/test_second_factor.py, the browser journey) switch it on.
STAFF_REQUIRE_2FA = False
# Text messages are kept in common.sms.outbox (the test server shares this process); a provider's
# passing failure is retried at once.
SMS_BACKEND = env("SMS_BACKEND", default="common.sms.MemoryBackend")
SMS_RETRY_DELAYS = [0.0, 0.0]
# No session limits: tests travel months ahead with a customer signed in to see an offer expire.
# The limits' own tests (accounts/tests/test_sessions.py) set the production defaults.
SESSION_IDLE_SECONDS_STAFF = 0
SESSION_ABSOLUTE_SECONDS_STAFF = 0
SESSION_IDLE_SECONDS_CUSTOMER = 0
SESSION_ABSOLUTE_SECONDS_CUSTOMER = 0
# The webhook tests' receiver listens on http://127.0.0.1 (notifications/webhooks/validators.py).
WEBHOOK_ALLOW_LOCAL_HTTP = True
# No partner steps requested on stage entry: the suite's builders move files through contract
# signing, lien registration and disbursement with no partner to answer. The partner steps' own
# tests (applications/tests/test_partner_steps.py, the browser's) switch it on.
PARTNER_STEPS_HOOK = "applications.services.partner_steps.steps_on_stage_entry"
LOANPORTAL_STAGE_HOOKS = [hook for hook in LOANPORTAL_STAGE_HOOKS if hook != PARTNER_STEPS_HOOK]
# The sandbox partner's own tests switch it on.
PARTNER_SANDBOX = False
