"""Benchmarks (``make bench``): the development keys, so that the data ``seed_demo`` wrote under the
development settings decrypts, but served as in production: DEBUG off (cached templates, no query
log), persistent database connections, no request ever leaving the machine.

Everything else the portal does is unchanged; only ``bench.urls`` adds a minimal view as the
baseline (``/bench/ping/``), routed in this mode alone.
"""

from __future__ import annotations

from .development import *  # noqa: F403
from .development import VAR_DIR, env

DEBUG = False
# "testserver": the benchmark's in-process measurements use Django's test client.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
ROOT_URLCONF = "bench.urls"

# The customer applications the benchmark builds go through the services: their tasks (the
# pre-check) run in-process, and nothing reaches a development worker's queue or inbox.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_LOG_FILE = VAR_DIR / "bench" / "sms.log"
MEDIA_ROOT = VAR_DIR / "bench" / "media"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
