"""Cache backends: Django's Redis cache with one client per connection pool, and a local-memory
cache that keeps strings without pickling them (``ProcessMemoryCache``).

Django's ``RedisCacheClient`` makes a new ``redis.Redis`` for every cache call, and redis-py
fills a table of some 170 response callbacks in each one: on a page that reads its session and one
cached entry, that cost more CPU than the two round trips (about 0.15 ms a call here). A client
holds no connection of its own (each command borrows one from the pool) and is safe to share
between threads, so one per pool does the same work.
"""

from __future__ import annotations

from django.core.cache.backends import locmem, redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT


class SharedClientRedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # the pools live as long as the cache: ids stay theirs
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with a shared client per pool."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient


class ProcessMemoryCache(locmem.LocMemCache):
    """Django's local-memory cache for immutable values (``bytes`` and ``str``), kept as they are.

    ``LocMemCache`` pickles every value on the way in and out, so that a cached object changed
    by one caller cannot change another's copy. A string cannot be changed, so these are kept
    as they are: a kept page of 20 KB is read without copying it (``get`` took about 12 µs, most of
    it unpickling). Keys are not checked for memcached's limits either: they never leave the
    process. Any other value is refused with ``TypeError``.
    """

    def validate_key(self, key: str) -> None:
        return None

    def _checked(self, value):
        if not isinstance(value, bytes | str):
            raise TypeError(f"{type(self).__name__} keeps bytes and str, not {type(value).__name__}")
        return value

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        value = self._checked(value)
        with self._lock:
            if self._has_expired(key):
                self._set(key, value, timeout)
                return True
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        key = self.make_and_validate_key(key, version=version)
        value = self._checked(value)
        with self._lock:
            self._set(key, value, timeout)

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            value = self._cache[key]
            self._cache.move_to_end(key, last=False)
        return value

    def incr(self, key, delta=1, version=None):
        raise TypeError(f"{type(self).__name__} keeps bytes and str: nothing to add to")
