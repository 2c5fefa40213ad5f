"""The settings of ``make load`` (``bench/traffic``): the cluster's (the development keys, so that
the data ``seed_demo`` wrote decrypts; DEBUG off as in production), with everything that would
leave the machine sent to the load's own fake services on loopback instead.

- SMS and e-mail go to the fake provider (``bench.traffic.fakes``, ``LOAD_PROVIDER_URL``), which
  records each message it accepts by the delivery's own reference (SMS) and Message-ID (e-mail),
  and answers "was this reference sent?" as Alibaba Cloud's send records do.
- Webhooks go to the fake receiver over plain http on 127.0.0.1: ``WEBHOOK_ALLOW_LOCAL_HTTP`` (the
  setting the tests use; production's validator refuses loopback and plain http). The receiver
  records each post's ``Webhook-Id``.
- No quiet hours (a run in the Shanghai evening would otherwise hold every SMS back) and the
  sandbox partners answer partner steps after ``PARTNER_SANDBOX_DELAY_SECONDS`` (5 s), so files
  at contract signing and later can move on as in production, where partners call back.
- ``LOAD_EAGER=1`` (the preparation only): tasks run in-process, as ``make bench``'s do, and the
  sandbox partners stay silent there.
"""

from __future__ import annotations

from loanportal.settings.development import *  # noqa: F403
from loanportal.settings.development import VAR_DIR, env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
WEBHOOK_ALLOW_LOCAL_HTTP = True
LOAD_PROVIDER_URL = env("LOAD_PROVIDER_URL", default="http://127.0.0.1:8792").rstrip("/")
SMS_BACKEND = "bench.traffic.backends.ProviderSms"
EMAIL_BACKEND = "bench.traffic.backends.ProviderEmail"
SMS_QUIET_HOURS = None
CELERY_TASK_ALWAYS_EAGER = env.bool("LOAD_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
# Not in the (eager) preparation, whose files are built as ``make bench``'s, event for event.
PARTNER_SANDBOX = not CELERY_TASK_ALWAYS_EAGER
PARTNER_SANDBOX_DELAY_SECONDS = env.float("PARTNER_SANDBOX_DELAY_SECONDS", default=5.0)
MEDIA_ROOT = VAR_DIR / "load" / "media"
