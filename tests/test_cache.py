"""The Redis cache backend: Django's, with one client per connection pool (``loanportal.cache``)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.conf import settings

from conftest import _needs, redis_configured
from loanportal.cache import RedisCache


@pytest.fixture
def redis_cache():
    _needs("Redis", redis_configured(), "REDIS_URL=redis://127.0.0.1:6379/1")
    backend = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})
    yield backend
    backend.clear()
    backend.close()


def test_the_settings_use_it_when_redis_is_configured():
    expected = (
        "loanportal.cache.RedisCache"
        if redis_configured()
        else "django.core.cache.backends.locmem.LocMemCache"
    )
    assert settings.CACHES["default"]["BACKEND"] == expected


def test_one_client_serves_every_call(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client("some-key") is client


def test_it_stores_reads_counts_and_deletes_as_django_s_does(redis_cache):
    redis_cache.set("page", "<html>…</html>", timeout=60)
    redis_cache.set_many({"a": 1, "b": [2, 3]})
    assert redis_cache.get("page") == "<html>…</html>"
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": [2, 3]}
    assert redis_cache.add("a", 9) is False and redis_cache.incr("a") == 2
    assert redis_cache.delete("page") is True and redis_cache.get("page", "gone") == "gone"


def test_threads_share_the_client_safely(redis_cache):
    """Each command borrows its own connection from the pool, so threads do not mix answers."""
    errors = []

    def work(n: int) -> None:
        for i in range(50):
            key = f"thread-{n}-{i}"
            redis_cache.set(key, (n, i))
            if redis_cache.get(key) != (n, i):
                errors.append(key)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
