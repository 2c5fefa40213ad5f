"""Benchmarks (``make bench``): the development keys, so that the data ``seed_demo`` wrote under the
development settings decrypts, but served as in production: DEBUG off (cached templates, no query
log), persistent database connections, no request ever leaving the machine.

Everything else the portal does is unchanged; only ``bench.urls`` adds the baselines (the minimal
view ``/bench/ping/`` and the signed-in empty page ``/bench/empty/``), routed in this mode alone.

``BENCH_COLD=1``: the cold server, where every request starts with every cache empty
(``bench.cold_cache.ColdCache``; the delay prediction's table, which beat keeps filled, excepted).
"""

from __future__ import annotations

from .development import *  # noqa: F403
from .development import REDIS_URL, VAR_DIR, env

DEBUG = False
# "testserver": the benchmark's in-process measurements use Django's test client.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
ROOT_URLCONF = "bench.urls"

if env.bool("BENCH_COLD", default=False):
    # Nothing an earlier request stored in the cache is found: sessions are read from the database
    # (``cached_db`` finds no copy), the configuration and the timeline's body are built each time.
    CACHES = {"default": {"BACKEND": "bench.cold_cache.ColdCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The customer applications the benchmark builds go through the services: their tasks (the
# pre-check) run in-process, and nothing reaches a development worker's queue or inbox.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Partner steps are requested as in production; the benchmark's own partners answer them at once
# (bench/prepare.py), not the sandbox's delayed task.
PARTNER_SANDBOX = False
SMS_LOG_FILE = VAR_DIR / "bench" / "sms.log"
MEDIA_ROOT = VAR_DIR / "bench" / "media"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
