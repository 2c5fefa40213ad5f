"""``loanportal.cache``: the Redis cache backend (Django's, with one client per connection pool), and
the local-memory cache that keeps strings without pickling them."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches

from conftest import _needs, redis_configured
from loanportal.cache import ProcessMemoryCache, RedisCache


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


@pytest.fixture
def memory_cache():
    backend = ProcessMemoryCache(
        f"test-{uuid.uuid4().hex}", {"OPTIONS": {"MAX_ENTRIES": 3, "CULL_FREQUENCY": 3}}
    )
    yield backend
    backend.clear()


def test_the_timeline_pages_are_kept_by_it():
    assert isinstance(caches["pages"], ProcessMemoryCache)


def test_it_gives_back_the_very_string_it_was_given(memory_cache):
    page = "<p>申请 D4KNE-45QRB</p>".encode() * 1000
    memory_cache.set("page", page)
    assert memory_cache.get("page") is page  # not a copy: nothing was pickled
    assert memory_cache.add("page", b"other") is False
    assert memory_cache.add("text", "文字") is True and memory_cache.get("text") == "文字"
    assert memory_cache.get("missing", b"default") == b"default"
    memory_cache.delete("page")
    assert memory_cache.get("page") is None


def test_it_expires_and_culls_as_django_s_local_memory_cache(memory_cache, monkeypatch):
    memory_cache.set("soon", b"x", timeout=10)
    for key in ("a", "b", "c"):  # over MAX_ENTRIES: the least recently used go
        memory_cache.set(key, b"y")
    assert memory_cache.get("soon") is None
    import time as time_module

    now = time_module.time()
    monkeypatch.setattr(time_module, "time", lambda: now + 3600)  # past the default 300 s
    assert memory_cache.get("c") is None


def test_it_refuses_values_that_could_change(memory_cache):
    for value in ([b"page"], {"page": b"x"}, 1):
        with pytest.raises(TypeError):
            memory_cache.set("key", value)
        with pytest.raises(TypeError):
            memory_cache.add("key", value)
    assert memory_cache.get("key") is None
    memory_cache.set("count", b"1")
    with pytest.raises(TypeError):
        memory_cache.incr("count")


def test_keys_of_any_length_and_characters_are_taken_without_a_warning(memory_cache, recwarn):
    key = "applications:timeline-page:" + "页 " * 200
    memory_cache.set(key, b"page")
    assert memory_cache.get(key) == b"page"
    assert not recwarn.list
