"""Redis away, stopped or hung: every page still answers (sessions and caches fall back to the
database), the failure is logged, and the rate limits still count.

The cache is django-redis pointed at a port where nothing listens (connection refused: a stopped
Redis) or at a socket that accepts connections and never answers (a hung Redis: the kernel
completes the handshake for a listening socket nobody reads). The settings are production's:
short socket timeouts, exceptions ignored and logged.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from applications import prediction
from applications.models import DocumentType, LoanApplication, Reason, StageEvent
from applications.tests.factories import at_offer, detail_url, in_review
from common import cache as common_cache
from common import ratelimit
from common.logging import OncePerInterval, reset_filters

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port():
    """A port nothing listens on: bound, never listening, so a connection is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.fixture
def hung_port():
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield listener.getsockname()[1]


def redis_cache_at(port: int) -> dict:
    """Production's cache settings (``settings/base.py`` with REDIS_URL), at this port."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {
                "CLIENT_CLASS": "common.cache.BreakerClient",
                "SOCKET_CONNECT_TIMEOUT": settings.CACHE_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": settings.CACHE_SOCKET_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }


@pytest.fixture(params=["stopped", "hung"])
def redis_away(request, settings, closed_port, hung_port, caplog):
    """The cache at a stopped or a hung Redis, as production configures it (sessions cached_db)."""
    settings.CACHES = redis_cache_at(closed_port if request.param == "stopped" else hung_port)
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.TIMELINE_CACHE_SECONDS = 60
    caplog.set_level(logging.ERROR, logger="django_redis.cache")
    reset_filters("django_redis.cache", "common.ratelimit")
    return request.param


def cache_failures(caplog) -> int:
    return sum(record.name == "django_redis.cache" for record in caplog.records)


def test_the_settings_ask_django_redis_to_degrade(settings):
    """What the fixtures copy is what production runs with REDIS_URL."""
    if not settings.REDIS_URL:
        pytest.skip("the Redis settings apply with REDIS_URL only")
    options = settings.CACHES["default"]["OPTIONS"]
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert options["IGNORE_EXCEPTIONS"] is True and settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS
    assert options["CLIENT_CLASS"] == "common.cache.BreakerClient" and settings.CACHE_RETRY_AFTER > 0
    assert options["SOCKET_CONNECT_TIMEOUT"] <= 0.5 and options["SOCKET_TIMEOUT"] <= 0.5
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"


def test_customer_pages_answer_while_redis_is_away(
    redis_away, client, customer, dealer, reviewer, approver, caplog
):
    application = at_offer(customer, dealer, reviewer, approver)
    client.force_login(customer)  # the session is written to the database; the cache write fails
    pages = [
        reverse("applications:home"),
        detail_url(application),
        detail_url(application),  # the body cache: a miss again, rendered again
        reverse("applications:offer", args=[application.reference]),
        reverse("notifications:inbox"),
        reverse("notifications:preferences"),
        reverse("accounts:security"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.wsgi_request.user == customer  # signed in: the session came from the database
    assert cache_failures(caplog) > 0  # and each failure was logged


def test_a_customer_signs_in_and_out_while_redis_is_away(redis_away, client, customer):
    response = client.post(
        reverse("accounts:login"), {"username": customer.username, "password": "a-Long-passphrase-42"}
    )
    assert response.status_code == 302
    assert client.get(reverse("applications:home")).wsgi_request.user == customer
    client.post(reverse("accounts:logout"))
    assert not client.get(reverse("applications:home")).wsgi_request.user.is_authenticated


def test_staff_pages_and_a_transition_answer_while_redis_is_away(
    redis_away, client, customer, dealer, reviewer
):
    application = in_review(customer, dealer)
    client.force_login(reviewer)
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    for url in (
        reverse("admin:index"),
        reverse("admin:applications_loanapplication_changelist"),
        reverse("admin:applications_loanapplication_change", args=[application.pk]),
    ):
        response = client.get(url, **english)
        assert response.status_code == 200, (url, response.status_code)

    response = client.post(
        reverse("admin:applications_loanapplication_transition", args=[application.pk, "request_documents"]),
        {
            "request_documents-seen_stage": application.stage,
            "request_documents-note": "Please send the statement.",
            "request_documents-reason": Reason.objects.get(code="more_income_proof").pk,
            "request_documents-document_types": [DocumentType.objects.get(code="bank_statement").pk],
        },
        **english,
    )
    assert response.status_code == 302
    assert LoanApplication.objects.get(pk=application.pk).stage == "awaiting_documents"
    assert StageEvent.objects.filter(application=application, transition="request_documents").count() == 1


def test_the_managers_report_answers_while_redis_is_away(redis_away, client, manager, settings):
    settings.REPORT_CACHE_SECONDS = 900  # as with Redis: the page reads and keeps its figures in the cache
    client.force_login(manager)
    response = client.get(reverse("reports:sla"))
    assert response.status_code == 200


def test_a_stopped_redis_costs_a_page_little(settings, closed_port, client, customer, dealer):
    """Refused connections fail at once: a page with every cache call failing stays quick."""
    settings.CACHES = redis_cache_at(closed_port)
    application = in_review(customer, dealer)
    client.force_login(customer)
    started = time.monotonic()
    for _ in range(5):
        assert client.get(detail_url(application)).status_code == 200
    assert (time.monotonic() - started) / 5 < 1.0


def test_the_rate_limit_still_counts_in_the_process_while_redis_is_away(redis_away, caplog):
    caplog.set_level(logging.WARNING, logger="common.ratelimit")
    ratelimit._local.clear()
    allowed = [ratelimit.hit("test-away", "203.0.113.9", limit=3, now=1_000_000.0) for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    assert any("counted in this process only" in record.getMessage() for record in caplog.records)


def test_the_tracking_form_refuses_the_sixth_try_while_redis_is_away(redis_away, client):
    answers = [
        client.post(
            reverse("applications:track"), {"reference": "LP00000000", "phone": "13812345678"}
        ).status_code
        for _ in range(6)
    ]
    assert 500 not in answers and answers[-1] == 429


def test_the_rate_limit_uses_the_shared_cache_when_it_is_there():
    cache.clear()
    allowed = [ratelimit.hit("test-shared", "203.0.113.10", limit=2, now=2_000_000.0) for _ in range(3)]
    assert allowed == [True, True, False]
    assert ratelimit._local.get("ratelimit:test-shared:203.0.113.10:33333") is None


def test_a_failure_repeated_on_every_call_is_logged_once_per_interval(settings):
    """Every cache call fails while Redis is away: the log gets one traceback per 10 s per process."""
    logger = logging.getLogger("django_redis.cache")
    assert any(isinstance(found, OncePerInterval) for found in logger.filters)
    once = OncePerInterval(seconds=3600)
    records = [
        logging.LogRecord("x", logging.ERROR, __file__, 1, "Exception ignored", None, None) for _ in range(5)
    ]
    kept = [record for record in records if once.filter(record)]
    assert len(kept) == 1
    once.reset()
    again = logging.LogRecord("x", logging.ERROR, __file__, 1, "Exception ignored", None, None)
    assert once.filter(again) and "4 more like it" in again.getMessage()


def test_after_a_timeout_the_process_leaves_a_hung_redis_alone_for_a_while(settings, hung_port):
    """One call waits its timeout; the calls after it are misses at once, for CACHE_RETRY_AFTER."""
    settings.CACHES = redis_cache_at(hung_port)
    settings.CACHE_RETRY_AFTER = 5.0
    started = time.monotonic()
    assert cache.get("anything") is None
    assert time.monotonic() - started >= settings.CACHE_SOCKET_TIMEOUT * 0.9  # it tried, and waited
    assert common_cache.cache_away()
    assert common_cache._away_until - time.monotonic() == pytest.approx(5.0, abs=1.0)
    started = time.monotonic()
    for _ in range(20):
        assert cache.get("anything") is None
        assert not cache.set("anything", 1)
    assert time.monotonic() - started < settings.CACHE_SOCKET_TIMEOUT  # twenty calls not tried at all


def test_the_cache_is_tried_on_every_call_once_it_answers(settings):
    if not settings.REDIS_URL:
        pytest.skip("the breaker is django-redis's client (REDIS_URL)")
    assert cache.set("breaker-test", 1) and cache.get("breaker-test") == 1
    assert not common_cache.cache_away()


def test_while_redis_is_away_the_delay_prediction_is_computed_once_per_process(
    redis_away, client, customer, dealer, monkeypatch
):
    """Every timeline shows expected dates from the prediction's table, which the cache keeps;
    without it each page computed the table again (0.4 s on 2,000 files, 1 s on a million)."""
    application = in_review(customer, dealer)
    computed = []
    query_rows = prediction._query_rows
    monkeypatch.setattr(prediction, "_query_rows", lambda **kw: computed.append(1) or query_rows(**kw))
    client.force_login(customer)
    for _ in range(3):
        assert client.get(detail_url(application)).status_code == 200
    assert len(computed) == 1


def test_with_the_cache_there_a_table_it_no_longer_holds_is_computed_again(monkeypatch):
    """The process's own copy stands in only while the cache is away: otherwise beat's refreshed
    table (or a fresh computation) is what every process reads."""
    computed = []
    query_rows = prediction._query_rows
    monkeypatch.setattr(prediction, "_query_rows", lambda **kw: computed.append(1) or query_rows(**kw))
    prediction.duration_table()
    cache.delete(prediction._CACHE_KEY)
    prediction.duration_table()
    assert len(computed) == 2
