"""Settings shared by every mode, read from the environment with django-environ.

PostgreSQL is the only database: ``DATABASE_URL`` names it, and ``make run`` / ``make test`` start
an embedded one under ``var/pgdata`` when it is not set (``bin/embedded_db.py``). Without
``REDIS_URL`` the cache is each process's own memory and Celery's broker is a folder under
``var/``. Modes: ``development`` (manage.py's default), ``test`` (pytest) and ``production``.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; a missing file is fine


def env_list(name: str, default: list[str]) -> list[str]:
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # Django's admin, its site refusing staff who still owe their second factor.
    "loanportal.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "health_check",
    "simple_history",
    "accounts",
    "applications",
    "reviews",
    "notifications",
    "reports",
    "demo",
    "api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor, if any, this session has passed (user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    # Names the signed-in user on the configuration history rows an admin change writes.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends sessions past their idle or absolute limit (needs the session, the user and messages).
    "accounts.sessions.SessionLimitsMiddleware",
    # Staff owing their second factor reach only the pages that take it.
    "accounts.second_factor.middleware.StaffSecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into a clear page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loanportal.urls"
WSGI_APPLICATION = "loanportal.wsgi.application"
ASGI_APPLICATION = "loanportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

if not env("DATABASE_URL", default=""):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: it names the PostgreSQL database, e.g. "
        "postgres://postgres@127.0.0.1:5432/loanportal. `make run` and `make test` start an "
        "embedded PostgreSQL under var/pgdata and set it for you; `.venv/bin/python bin/embedded_db.py "
        "run -- <command>` does the same for any other command."
    )
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL must name a PostgreSQL database (postgres://…), not {DATABASES['default']['ENGINE']}."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL's JIT compiles the expressions of queries it estimates as costly; for the delay
# prediction's table that compilation took 5.4 s of a 6 s query (0.8-1.3 s without it), and no
# query of ours ran faster with it. Off for this application's sessions (PG_JIT=on restores it).
if not env.bool("PG_JIT", default=False):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "applications:home"
LOGOUT_REDIRECT_URL = "applications:home"
AUTHENTICATION_BACKENDS = [
    # First: refuses while a (user name, IP address) pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Customers sign in with a mobile number or email address; staff with their user name.
    "accounts.backends.PhoneOrEmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling (django-axes): five failures for one account from one address lock that
# pair for 15 minutes; the lock lifts by itself, so an attacker cannot shut a customer out for good,
# and the real customer on another address is not locked at all.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Trying again during the pause does not restart it: the lock always lifts 15 minutes after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Every spelling of a phone number, email or user name counts against the same account.
AXES_USERNAME_CALLABLE = "accounts.throttling.axes_username"
# Behind a reverse proxy, the client's address is the proxy's; TRUSTED_PROXY_COUNT says how many
# proxies to look past in X-Forwarded-For (0: use the connection's address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_ip"

# --- Second factor and sessions (accounts.second_factor, accounts.sessions) ----------------------
# Staff sign in with a code from an authenticator app (TOTP) or a recovery code. Always on in
# production settings; development and tests default to off (STAFF_REQUIRE_2FA=true to try it).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = "Loan Portal"
# Staff: signed out after 30 minutes without a request and 12 hours after signing in; customers
# after 2 hours without a request (0: no absolute limit). An active session's expiry is moved on
# at most once every SESSION_REFRESH_SECONDS (the idle limit is that much approximate).
SESSION_IDLE_SECONDS_STAFF = env.int("SESSION_IDLE_SECONDS_STAFF", default=30 * 60)
SESSION_ABSOLUTE_SECONDS_STAFF = env.int("SESSION_ABSOLUTE_SECONDS_STAFF", default=12 * 3600)
SESSION_IDLE_SECONDS_CUSTOMER = env.int("SESSION_IDLE_SECONDS_CUSTOMER", default=2 * 3600)
SESSION_ABSOLUTE_SECONDS_CUSTOMER = env.int("SESSION_ABSOLUTE_SECONDS_CUSTOMER", default=0)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=60)
# An idle session stays in the store this long past its idle limit (signed out at the limit all the
# same), so the visitor who comes back reads why they were signed out.
SESSION_KEPT_AFTER_IDLE_SECONDS = env.int("SESSION_KEPT_AFTER_IDLE_SECONDS", default=3600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages and time -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Uploaded documents live outside static/ and are served only through permission-checked views.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Every file stored (the documents) is sealed with its own key, wrapped with PII_ENCRYPTION_KEYS,
# whatever the backend (common/storage.py): local files here, object storage in production.
STORAGES = {
    "default": {"BACKEND": "common.storage.EncryptedFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
S3_SERVER_SIDE_ENCRYPTION = ("", "AES256", "aws:kms")


def s3_document_storage(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    server_side_encryption: str = "AES256",
    kms_key_id: str = "",
) -> dict:
    """The ``STORAGES["default"]`` entry for documents in an S3-compatible bucket (django-storages).

    Empty credentials leave boto3 to find its own (an instance role). ``server_side_encryption``:
    ``AES256`` (SSE-S3), ``aws:kms`` (SSE-KMS, with ``kms_key_id`` or the bucket's key) or empty
    for a server that has none; the objects are sealed by ``common.storage`` either way.
    """
    if server_side_encryption not in S3_SERVER_SIDE_ENCRYPTION:
        raise ImproperlyConfigured(
            f"DOCUMENTS_S3_SSE must be AES256, aws:kms or empty, not {server_side_encryption!r}."
        )
    parameters = {"ServerSideEncryption": server_side_encryption} if server_side_encryption else {}
    if server_side_encryption == "aws:kms" and kms_key_id:
        parameters["SSEKMSKeyId"] = kms_key_id
    return {
        "BACKEND": "common.storage_s3.EncryptedS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "object_parameters": parameters,
            # Private objects: the bucket's own policy, no ACL; the generated names never repeat,
            # and an existing name is never overwritten.
            "default_acl": None,
            "file_overwrite": False,
            # Never used (the download view streams the bytes), but a URL, if ever asked for,
            # is signed and short-lived.
            "querystring_auth": True,
            "querystring_expire": 60,
        },
    }


# Documents: at most 10 MB each (checked in the form with a clear message); requests a little larger.
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# The quota of one application: at most this many files of each document type (every upload
# counts, a rejected one too) and this many megabytes in all; past it the upload page says why.
DOCUMENT_QUOTA_FILES_PER_TYPE = env.int("DOCUMENT_QUOTA_FILES_PER_TYPE", default=10)
DOCUMENT_QUOTA_TOTAL_BYTES = env.int("DOCUMENT_QUOTA_TOTAL_MB", default=100) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Cache, Celery ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# How long a request waits on Redis before going on without it (seconds). Redis answers in well
# under a millisecond here; a Redis that is away (refused) or hung (connected, silent) costs each
# cache call at most these, then the call is skipped and logged (below).
CACHE_CONNECT_TIMEOUT = env.float("CACHE_CONNECT_TIMEOUT", default=0.1)
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.1)
# After a failed cache call a process leaves Redis alone this long (every call a miss at once),
# then tries again (common.cache.BreakerClient): a hung Redis costs a timeout per interval, not
# one per call. 0: try on every call.
CACHE_RETRY_AFTER = env.float("CACHE_RETRY_AFTER", default=5.0)
# The broker: a request only hands messages to it (the outbox rows are the record), so it never
# waits long on it, and never retries a publish: what could not be queued is queued later by a
# sweep (the delivery relay, the pre-check sweep). After a failure a process leaves the broker
# alone for BROKER_RETRY_AFTER seconds (common.broker), so only one request pays the timeout. Only
# requests that publish pay it, transitions mostly: with 10 s, a hung Redis made about every third
# transition wait its socket timeout (make faults: 3× their usual time); 30 s makes it one per
# process per outage. Meanwhile the relay (every 20 s) queues what the web processes left.
BROKER_CONNECT_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=0.5)
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=1.0)
BROKER_RETRY_AFTER = env.float("BROKER_RETRY_AFTER", default=30.0)
if REDIS_URL:
    # django-redis: a Redis that is away makes every cache call a miss (get: None, set/add/incr:
    # None) after the timeouts above instead of an exception, and each such call is logged
    # (DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS, logger "django_redis.cache"). Sessions (cached_db)
    # then read and write the database, pages compute what they would have read.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "CLIENT_CLASS": "common.cache.BreakerClient",
                "SOCKET_CONNECT_TIMEOUT": CACHE_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # Sessions are read from Redis (the database stays the record, written on every change), which
    # spares every signed-in page a query. Only with a shared cache: with one cache per process a
    # worker could go on reading a session another worker has signed out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CELERY_BROKER_URL = REDIS_URL
    # Tasks are short; anything due later is stored in the database and found by a sweep, so a
    # visibility timeout of one hour never redelivers a task that is still legitimately waiting.
    # The socket timeouts bound a publish to a hung Redis (kombu's default is to wait forever).
    # max_retries 0: a publish's connection is tried once (kombu otherwise sleeps 2 s before its
    # second try); a worker's own connection is retried by Celery whatever this says.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
        "socket_timeout": BROKER_SOCKET_TIMEOUT,
        "max_retries": 0,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # The file-system transport needs no server: the web process, the worker and beat exchange
    # messages through files under var/celery/, so `make run` works on a bare machine.
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
# Connecting to the broker (kombu's ensure_connection gives up after this in all).
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
# One try per publish: a retry would make the request wait on a broker that is away.
CELERY_TASK_PUBLISH_RETRY = False
# Queues by kind of work, so a backlog of one never delays another (Procfile.cluster runs a worker
# per queue): the pre-check (customers wait for it), notifications (deliveries, the relay, the SLA
# sweep and reminders, dealers' webhooks), reports (long computations), and "celery" for the rest
# (expiry, retention, the prediction's table, purges). A worker started without --queues (make run,
# the tests' worker) consumes them all.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("celery", "precheck", "notifications", "reports")]
CELERY_TASK_ROUTES = {
    "applications.tasks.precheck_*": {"queue": "precheck"},
    "notifications.*": {"queue": "notifications"},
    "reports.*": {"queue": "reports"},
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Task modules autodiscovery does not find (it imports each app's ``tasks`` module only).
CELERY_IMPORTS = ["notifications.webhooks.tasks"]


def quiet_hours(value: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → (21:00, 08:00), Shanghai time, the window may pass midnight; empty: none."""
    if not value.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ImproperlyConfigured(
            f"SMS_QUIET_HOURS must read like 21:00-08:00 (or be empty for none), not {value!r}."
        ) from None
    if start == end:
        raise ImproperlyConfigured(f"SMS_QUIET_HOURS starts and ends at the same time: {value!r}.")
    return start, end


# No text message is sent in these hours (Asia/Shanghai): one due then waits, deferred, to the end.
SMS_QUIET_HOURS = quiet_hours(env("SMS_QUIET_HOURS", default="21:00-08:00"))
# --- Links in text messages -----------------------------------------------------------------------
# The portal's address as customers reach it, for the links texted to them (a walk-in buyer's claim
# link, applications.services.dealer): no request is at hand when a text is written.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Text messages (common.sms) and one-time codes (accounts.otp) --------------------------------
# The provider: the log file var/sms.log by default (make run prints each message), or
# "common.sms.aliyun.AliyunSmsBackend" / "common.sms.tencent.TencentSmsBackend" with the settings below.
SMS_BACKEND = env("SMS_BACKEND", default="common.sms.LogFileBackend")
# The approved signature (签名) and each message's approved template: code or ID at the provider.
# "code": the one-time code, parameters code and minutes; "notice": the outbox's notices, one
# parameter text; "signup_taken": the owner of a number someone tried to sign up with, none.
SMS_SIGN_NAME = env("SMS_SIGN_NAME", default="")
SMS_TEMPLATES = {
    "code": env("SMS_TEMPLATE_CODE", default=""),
    "notice": env("SMS_TEMPLATE_NOTICE", default=""),
    "signup_taken": env("SMS_TEMPLATE_SIGNUP_TAKEN", default=""),
}
ALIYUN_SMS_ACCESS_KEY_ID = env("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env("ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com")
TENCENT_SMS_SECRET_ID = env("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_REGION = env("TENCENT_SMS_REGION", default="ap-guangzhou")
# A code is sent in the request: a provider's passing failure is tried again after these seconds.
SMS_RETRY_DELAYS = [float(delay) for delay in env.list("SMS_RETRY_DELAYS", default=["0.5", "2"])]
if SMS_BACKEND.endswith(("AliyunSmsBackend", "TencentSmsBackend")) and not (
    SMS_SIGN_NAME and all(SMS_TEMPLATES.values())
):
    raise ImproperlyConfigured(
        "A real SMS provider needs SMS_SIGN_NAME and the templates SMS_TEMPLATE_CODE, "
        "SMS_TEMPLATE_NOTICE and SMS_TEMPLATE_SIGNUP_TAKEN."
    )
# One-time codes: how many a number may be sent, and a client address may ask for, per hour.
OTP_PER_NUMBER_PER_HOUR = env.int("OTP_PER_NUMBER_PER_HOUR", default=5)
OTP_PER_ADDRESS_PER_HOUR = env.int("OTP_PER_ADDRESS_PER_HOUR", default=20)

# How old what the customer timeline shows may be: its body is cached this many seconds per version
# of the file, and a browser's copy is confirmed (304) within the same window (0: neither); see
# applications.views.timeline.application_detail.
TIMELINE_CACHE_SECONDS = env.int("TIMELINE_CACHE_SECONDS", default=60)
# The SLA report: a range's figures are computed by the page itself (from rollups: stays per day,
# funnel and factors per submission day, REPORT_ROLLUP_SECONDS below) and kept this many seconds
# (0: computed on every view; the page says how old they are). Beat computes the default range
# (the last 90 days) in every language every REPORT_REFRESH_SECONDS, so the page managers open
# first is ready. Its statements get REPORT_WORK_MEM for their sorts (PostgreSQL).
REPORT_CACHE_SECONDS = env.int("REPORT_CACHE_SECONDS", default=900 if REDIS_URL else 0)
REPORT_REFRESH_SECONDS = env.float("REPORT_REFRESH_SECONDS", default=600.0)
REPORT_WORK_MEM = env("REPORT_WORK_MEM", default="128MB")
# The report reads stays, the funnel and the approval factors from rollups (reports.models); beat
# brings them up to date this often, which is also how old a past cohort's funnel and factors may
# be (0: never; `manage.py reports_backfill` computes them all).
REPORT_ROLLUP_SECONDS = env.float("REPORT_ROLLUP_SECONDS", default=300.0)
# Deliveries (notifications.services.delivery): a worker's claim on one lasts DELIVERY_LEASE_SECONDS
# (its send is bounded well inside: the SMS adapters' timeouts, EMAIL_TIMEOUT, the task's time
# limit); the relay runs every DELIVERY_RELAY_INTERVAL seconds and puts back a row whose claim
# lapsed (its worker died), so such a delivery is tried again within lease + interval of its claim
# (50 s) plus the moment the worker takes to pick it up: within a minute. With a 30 s interval the
# bound was the minute itself, which the relay's phase could just pass (55 s measured by make faults).
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=30)
DELIVERY_RELAY_INTERVAL = env.float("DELIVERY_RELAY_INTERVAL", default=20.0)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if EMAIL_TIMEOUT + 10 > DELIVERY_LEASE_SECONDS:
    raise ImproperlyConfigured(
        f"DELIVERY_LEASE_SECONDS ({DELIVERY_LEASE_SECONDS}) must leave a send room: at least "
        f"EMAIL_TIMEOUT ({EMAIL_TIMEOUT}) + 10 seconds."
    )
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
# Seconds between SLA sweeps; the admin warns when the last one is older than three of them.
SLA_SWEEP_INTERVAL = env.float("SLA_SWEEP_INTERVAL", default=60.0)
# The most stages one sweep pass changes (and second escalations it marks); a backlog is worked
# through in passes of this size, each its own short transaction.
SLA_SWEEP_BATCH = env.int("SLA_SWEEP_BATCH", default=5000)
# The most files one expiry pass closes (each a transition with its hooks), and the seconds between
# passes; the limits themselves are configuration data on the stage definitions (admin).
EXPIRY_BATCH = env.int("EXPIRY_BATCH", default=200)
# The pre-check sweep (every minute) queues at most this many stuck pre-checks a pass, each once,
# and again only if it is still not done this long after (a lost message).
PRECHECK_SWEEP_BATCH = env.int("PRECHECK_SWEEP_BATCH", default=100)
PRECHECK_REQUEUE_AFTER_SECONDS = env.int("PRECHECK_REQUEUE_AFTER_SECONDS", default=600)
EXPIRY_INTERVAL = env.float("EXPIRY_INTERVAL", default=300.0)
# Retention (PIPL; ``applications.services.retention``): a closed file keeps its personal data for
# RETENTION_YEARS after it closed (a disbursed loan: after its last instalment falls due), the
# record-keeping period of the anti-money-laundering rules, then the retention pass anonymises it;
# an application never submitted is deleted DRAFT_RETENTION_DAYS after its last change. A pass
# handles at most RETENTION_BATCH files of each, every RETENTION_INTERVAL seconds.
RETENTION_YEARS = env.int("RETENTION_YEARS", default=5)
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=90)
RETENTION_BATCH = env.int("RETENTION_BATCH", default=200)
RETENTION_INTERVAL = env.float("RETENTION_INTERVAL", default=3600.0)
if RETENTION_YEARS < 1 or DRAFT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"RETENTION_YEARS and DRAFT_RETENTION_DAYS must be at least 1, not {RETENTION_YEARS} and "
        f"{DRAFT_RETENTION_DAYS}."
    )
# A customer's request to correct their personal data is answered within this many working days
# on the working calendar (the staff task's due time).
CORRECTION_WORKING_DAYS = env.int("CORRECTION_WORKING_DAYS", default=15)
CELERY_BEAT_SCHEDULE = {
    "precheck-sweep": {"task": "applications.tasks.precheck_sweep", "schedule": 60.0},
    "sla-sweep": {"task": "notifications.tasks.sla_sweep", "schedule": SLA_SWEEP_INTERVAL},
    "delivery-relay": {"task": "notifications.tasks.relay", "schedule": DELIVERY_RELAY_INTERVAL},
    # Webhook posts due for a retry, or left by a stopped broker or worker (notifications.webhooks).
    "webhook-relay": {"task": "notifications.webhooks.tasks.webhook_relay", "schedule": 60.0},
    "applications-expire": {"task": "applications.tasks.applications_expire", "schedule": EXPIRY_INTERVAL},
    "expiry-reminders": {"task": "notifications.tasks.expiry_remind", "schedule": EXPIRY_INTERVAL},
    "retention": {"task": "applications.tasks.retention_sweep", "schedule": RETENTION_INTERVAL},
    # Inside the delay prediction's five-minute cache lifetime: pages read it, never compute it.
    "prediction-refresh": {"task": "applications.tasks.prediction_refresh", "schedule": 240.0},
    "one-time-codes-purge": {"task": "accounts.tasks.one_time_codes_purge", "schedule": 3600.0},
    # CELERY_TIMEZONE is Asia/Shanghai, so this is 08:30 in Shanghai.
    "daily-digest": {"task": "notifications.tasks.daily_digest", "schedule": crontab(hour=8, minute=30)},
}
if REPORT_REFRESH_SECONDS:
    CELERY_BEAT_SCHEDULE["report-refresh"] = {
        "task": "reports.tasks.report_refresh",
        "schedule": REPORT_REFRESH_SECONDS,
    }
if REPORT_ROLLUP_SECONDS:
    CELERY_BEAT_SCHEDULE["stay-rollups"] = {
        "task": "reports.tasks.stay_rollup_refresh",
        "schedule": REPORT_ROLLUP_SECONDS,
    }
# Questions about an application (the timeline's thread): staff's first response is due this many
# working hours after a question (on the working calendar, like staff stages); the SLA sweep reminds
# the file's owner at 80 % of it and escalates to the managers when it passes.
QUESTION_RESPONSE_HOURS = env.float("QUESTION_RESPONSE_HOURS", default=4.0)
if QUESTION_RESPONSE_HOURS <= 0:
    raise ImproperlyConfigured(f"QUESTION_RESPONSE_HOURS must be more than 0, not {QUESTION_RESPONSE_HOURS}.")
# Partner steps (``applications.services.partner_steps``): the sandbox partner answers every step
# itself (in progress, then done) this many seconds after each request, through a Celery task, so
# `make run` shows the sub-steps moving. On in development (DEBUG) unless PARTNER_SANDBOX says no;
# never on by default in production, where the partners answer through the API or staff do.
PARTNER_SANDBOX = env.bool("PARTNER_SANDBOX", default=False)
PARTNER_SANDBOX_DELAY_SECONDS = env.float("PARTNER_SANDBOX_DELAY_SECONDS", default=20.0)
if PARTNER_SANDBOX_DELAY_SECONDS < 0:
    raise ImproperlyConfigured(
        f"PARTNER_SANDBOX_DELAY_SECONDS must be 0 or more, not {PARTNER_SANDBOX_DELAY_SECONDS}."
    )
# Files asking for more than this (yuan) are approved or declined only by senior approvers. The
# assignment rules (reviews, admin) route them there; this makes it a rule, not only a routing.
SENIOR_APPROVAL_THRESHOLD = Decimal(env("SENIOR_APPROVAL_THRESHOLD", default="300000"))
CREDIT_BUREAU_ADAPTER = env("CREDIT_BUREAU_ADAPTER", default="applications.bureau.SandboxBureau")

# --- Personal data ------------------------------------------------------------------------------
# Fernet keys, newest first: values are encrypted with the first and decrypted with any, so a key
# is rotated by prepending a new one and running `manage.py rotate_pii_keys`.
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", [])
# Key of the HMAC used for exact look-ups (phone, ID number) without decrypting every row.
PII_HASH_KEY = env("PII_HASH_KEY", default="")

# The version of the privacy notice and credit-check consent text the customer agrees to.
PRIVACY_NOTICE_VERSION = env("PRIVACY_NOTICE_VERSION", default="2026-11")

# The day of the month instalments fall due (1–31, the month's last day when it is shorter); 0: the
# day of the month the money is paid out. The first falls on that day at least one month after
# the payout (``applications.money.due_dates``).
REPAYMENT_DAY_OF_MONTH = env.int("REPAYMENT_DAY_OF_MONTH", default=0)
if not 0 <= REPAYMENT_DAY_OF_MONTH <= 31:
    raise ImproperlyConfigured(
        f"REPAYMENT_DAY_OF_MONTH must be a day of the month, 1 to 31, or 0 for the payout's own day, "
        f"not {REPAYMENT_DAY_OF_MONTH}."
    )

# --- The lifecycle's hook list ------------------------------------------------------------------
# Everything that happens when an application changes stage, in one place. Each entry is a dotted
# path to a callable ``hook(*, change)`` marked ``@applications.hooks.stage_hook(<event kinds>)``:
# it is called only for history events of those kinds, with a frozen ``StageChange`` record (ids,
# from, to, kind), never the model. The core calls them inside the event's transaction, so a hook
# that writes rows is atomic with the change and one that sends anything must defer it with
# ``transaction.on_commit``.
LOANPORTAL_STAGE_HOOKS = [
    "applications.hooks.queue_precheck",
    "applications.services.delays.cause_on_stage_entry",
    # Partner steps the entered stage needs (credit bureau, insurer, registry…), each on its clock.
    "applications.services.partner_steps.steps_on_stage_entry",
    "notifications.hooks.notify_customer",
    "notifications.hooks.notify_assignee",
    "notifications.webhooks.hooks.queue_webhooks",
    "reviews.hooks.assign_on_stage_change",
]
# What other apps show in the site's frame for a visitor, as callables ``part(request) -> str``
# whose text changes when their part does: a page answering conditional GETs (the customer
# timeline) puts them in its ETag, so the core reads them without importing those apps.
LOANPORTAL_FRAME_PARTS = ["notifications.selectors.frame_version"]
# What other apps hold about a customer, for the privacy page (PIPL): dotted paths to objects with
# ``key``, ``export(*, user) -> dict`` (what "download my data" includes) and ``erase(*, user)``
# (what closing the account removes), so the core reads and erases them without importing them.
LOANPORTAL_PRIVACY_PARTS = ["notifications.privacy.PRIVACY_PART"]
# Who owns a file now, as the back office knows it: the dotted path to a callable taking
# application ids and returning {application id: user id} (those with no owner left out). The SLA
# reminders go to that person, else to every member of the stage's owner role; the notifications
# ask through it instead of importing the back office. Empty: no back office, the role is told.
# The core's transition path asks it too: staff act only on files they hold or nobody holds.
LOANPORTAL_OWNER_SELECTOR = "reviews.selectors.current_assignees"
# Webhook URLs must be https:// to a public address; plain http://127.0.0.1 (or localhost) is
# allowed only when DEBUG is on or this is set (the test settings: their receiver is local).
WEBHOOK_ALLOW_LOCAL_HTTP = False

# While Redis or the broker is away every cache call or request would log the same failure; the
# first is logged, then one every 10 s per process with the number held back (common.logging).
_ONCE_PER_10S = {"()": "common.logging.OncePerInterval", "seconds": 10.0}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"cache_away": _ONCE_PER_10S, "broker_away": _ONCE_PER_10S, "limit_away": _ONCE_PER_10S},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_redis.cache": {"filters": ["cache_away"]},
        "common.broker": {"filters": ["broker_away"]},
        "common.ratelimit": {"filters": ["limit_away"]},
    },
}

# Content-Security-Policy (django-csp 4): scripts, styles, fonts and everything else from this site
# only, nothing inline: every template keeps its JS and CSS in files under static/ (a test reads
# them all: tests/test_content_security_policy.py). Images may also be data: URIs, which
# Bootstrap's and the admin's stylesheets use for their small icons. Django's admin needs no nonce
# (its scripts are files that read their data from data- attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

STAGE_SLA_FALLBACK = timedelta(hours=24)


def require(name: str, value: object) -> None:
    """Fail at start with a clear message instead of running with a missing secret."""
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set in this mode.")


# --- The REST API for dealers' systems (api/) ---------------------------------------------------
# Per-dealership keys only (no session, so no CSRF); JSON in and out (multipart for uploads);
# every error an RFC 9457 problem (api/problems.py); API_RATE_LIMIT requests a minute per key on
# the shared limiter (common.ratelimit).
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=120)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "api.permissions.DealerKey",
        "api.permissions.PartnerKeyLimits",
        "api.permissions.ScopeAllows",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loan Portal API",
    "DESCRIPTION": (
        "For dealers' systems: the dealership's files, their status and history in the customer's "
        "words, their documents. Authenticate with `Authorization: Bearer <key>` (a manager creates "
        "keys in the admin); send an `Idempotency-Key` with every POST. Every error is an RFC 9457 "
        "problem (`application/problem+json`: type, title, status, detail, and errors for fields)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its reference are public; the operations need a key.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from our static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "applications.choices.Stage",
        "DocumentStatusEnum": "applications.choices.DocumentStatus",
        "PartnerStepStatusEnum": "applications.choices.PartnerStepStatus",
    },
}
CELERY_BEAT_SCHEDULE["api-idempotency-purge"] = {"task": "api.tasks.idempotency_purge", "schedule": 3600.0}
