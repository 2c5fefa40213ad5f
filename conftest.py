"""The cast every test can call on, and the rules for tests that need real servers."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group

from accounts.roles import Role


def _needs(server: str, available: bool, hint: str) -> None:
    """Run when the server is configured; skip locally when it is not, saying what to set; fail in
    CI, which must provide every server."""
    if available:
        return
    message = f"needs {server}, which this run does not have: set {hint}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must provide it)", pytrace=False)
    pytest.skip(message)


def redis_configured() -> bool:
    return os.environ.get("REDIS_URL", "").startswith("redis://")


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Messages raised by services in the test's own thread read in English, so assertions can name
    them; requests through the client or a browser still get the language the middleware picks."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _configuration_cache_renewed():
    """Each test starts with the cached configuration (``applications.reference``) out of date:
    rows a test changed are rolled back behind the signals' back, so a copy cached by an earlier
    test must not be used. The first read of a test loads it (3 queries); later reads are free."""
    from django.core.cache import cache

    from applications.reference import VERSION_KEY

    cache.delete(VERSION_KEY)


@pytest.fixture(autouse=True)
def _sms_outbox_emptied():
    """Text messages sent by the tests' backend (``common.sms.MemoryBackend``) are the test's own."""
    from common import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _broker_trusted_again():
    """A test that took the broker away leaves the next one free to publish (``common.broker``
    otherwise leaves a broker that failed alone for a while, per process)."""
    from common import broker

    broker.broker_reset()
    yield
    broker.broker_reset()


@pytest.fixture(autouse=True)
def _cache_trusted_again(monkeypatch):
    """Likewise for the shared cache (``common.cache``), and no delay-prediction table kept in the
    process by an earlier test for a time the cache is away."""
    from applications import prediction
    from common import cache

    cache.cache_reset()
    monkeypatch.setattr(prediction, "_kept_here", None)
    yield
    cache.cache_reset()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _default_data(request):
    """Put back the default data (what the data migrations load) when a flush has emptied the tables.

    A transactional test (browser, concurrency, worker) ends with a flush that empties every table,
    so a test after it would find no stage definitions, reasons, products, role groups or rules.
    ``serialized_rollback`` cannot be relied on (there is no serialized copy when a plain test ran
    first), and test order is not guaranteed to put transactional tests last. So every database
    test checks for the configuration (one query) and, when it is missing, calls each app's
    idempotent ``defaults.load``, which its data migrations call too. (The flush's ``post_migrate``
    signal has recreated the permissions the role groups are given.)
    """
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
    elif "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
    else:
        return
    from django.apps import apps

    from api import defaults as api_defaults
    from applications import defaults as applications_defaults
    from applications.models import StageDefinition
    from notifications import defaults as notifications_defaults
    from reviews import defaults as reviews_defaults

    if StageDefinition.objects.exists() and Group.objects.exists():
        return
    for load in (
        applications_defaults.load,
        reviews_defaults.load,
        notifications_defaults.load,
        api_defaults.load,
    ):
        load(apps)


@pytest.fixture(autouse=True)
def _server_requirements(request):
    if request.node.get_closest_marker("worker"):
        _needs("Redis (the broker of a real Celery worker)", redis_configured(), "REDIS_URL=redis://…")


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *roles: str, is_staff: bool | None = None, **fields):
        user = django_user_model.objects.create_user(
            username=username, password="a-Long-passphrase-42", email=f"{username}@example.cn", **fields
        )
        if is_staff is None:
            is_staff = any(role not in (Role.CUSTOMER, Role.DEALER) for role in roles)
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
        user.groups.set([Group.objects.get(name=role) for role in roles])
        return user

    return make


@pytest.fixture
def customer(make_user):
    return make_user("customer", Role.CUSTOMER)


@pytest.fixture
def other_customer(make_user):
    return make_user("other_customer", Role.CUSTOMER)


@pytest.fixture
def dealer_user(make_user, dealer):
    user = make_user("dealer_staff", Role.DEALER)
    dealer.staff.add(user)
    return user


@pytest.fixture
def reviewer(make_user):
    return make_user("reviewer", Role.REVIEWER)


@pytest.fixture
def approver(make_user):
    return make_user("approver", Role.APPROVER)


@pytest.fixture
def operations(make_user):
    return make_user("operations", Role.OPERATIONS)


@pytest.fixture
def finance(make_user):
    return make_user("finance", Role.FINANCE)


@pytest.fixture
def manager(make_user):
    return make_user("manager", Role.MANAGER)


@pytest.fixture
def cast(customer, other_customer, dealer_user, reviewer, approver, operations, finance, manager):
    """Every persona by role name, for permission matrices."""
    return {
        "customer": customer,
        "other_customer": other_customer,
        "dealer": dealer_user,
        "reviewer": reviewer,
        "approver": approver,
        "operations": operations,
        "finance": finance,
        "manager": manager,
    }


@pytest.fixture
def dealer(db):
    from applications.tests.factories import DealerFactory

    return DealerFactory()


@pytest.fixture
def draft(customer, dealer):
    """A complete draft of the customer's, ready to submit."""
    from applications.tests.factories import make_draft

    return make_draft(customer=customer, dealer=dealer)


# --- Browser tests: Debian's Chromium, never a downloaded build ---------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# --- A real Celery worker against Redis and the test database ------------------------------------


@pytest.fixture
def celery_worker_process(transactional_db):
    """Start `celery worker` as a separate process on the test database; stop it afterwards.

    Needs Redis (the broker). The test process stops running tasks eagerly so that `.delay()`
    really goes through Redis.
    """
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    from urllib.parse import quote, urlencode

    from django.db import connection

    from loanportal.celery import app

    _needs("Redis", redis_configured(), "REDIS_URL=redis://…")
    db = connection.settings_dict
    # libpq's form, which also names a Unix socket's directory (the embedded PostgreSQL's).
    where = {"host": db["HOST"] or db["OPTIONS"].get("host", ""), "port": db["PORT"]}
    login = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loanportal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": f"postgresql://{login}@/{db['NAME']}?{urlencode({k: v for k, v in where.items() if v})}",
    }
    app.conf.task_always_eager = False
    app.control.purge()
    log = Path("test-results") / f"celery-worker-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    log.parent.mkdir(exist_ok=True)
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "loanportal",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not app.control.ping(destination=[f"test-{os.getpid()}@{os.uname().nodename}"], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            app.conf.task_always_eager = True  # the tests after this one still run tasks in-process
            pytest.fail(f"the Celery worker did not start; see {log}")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        app.conf.task_always_eager = True


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    """Poll until predicate() is truthy; return its value or fail after timeout seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def pytest_collection_modifyitems(config, items):
    """Browser tests run last. Playwright's sync API keeps an event loop running in the main thread
    from its first test to the end of the session, and Django runs an async view (``/health/``) for
    the test client through ``async_to_sync``, which refuses to start inside a running loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
