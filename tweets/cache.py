"""Read-through cache of tweet records (the tweet without live metrics and
media status, which are merged in at read time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache

from nexus.redis_batch import redis_batch, redis_read, redis_write

KEY_PREFIX = "tweet:v1:"


def tweet_cache_key(tweet_id: int) -> str:
    return f"{KEY_PREFIX}{tweet_id}"


def tweet_cache_get_many(tweet_ids: Iterable[int]) -> dict[int, dict]:
    """One round trip for all ids; a cache outage reads as all misses."""
    return tweet_cache_read_many(tweet_ids)()


def tweet_cache_read_many(tweet_ids: Iterable[int]) -> Callable[[], dict[int, dict]]:
    """`tweet_cache_get_many`, read with the caller's `redis_batch` if any:
    call the returned function once the batch has been sent."""
    keys = {tweet_cache_key(i): i for i in tweet_ids}
    if not keys:
        return dict
    if settings.REDIS_URL:
        reply = redis_read("MGET", *[cache.make_key(key) for key in keys])

        def decoded() -> dict[int, dict]:
            if reply.error is not None:  # the cache is an optimisation: never fail a read on it
                return {}
            return {i: cache.client.decode(raw) for i, raw in zip(keys.values(), reply.value, strict=True) if raw}

        return decoded
    try:
        found = cache.get_many(list(keys))
    except Exception:
        found = {}
    return lambda: {keys[k]: v for k, v in found.items()}


def tweet_cache_set_many(records: dict[int, tuple[dict, int]]) -> None:
    """records: id -> (record, ttl seconds). On Redis, one round trip, or none
    of its own inside a caller's `redis_batch`."""
    if not records:
        return
    if settings.REDIS_URL:
        with redis_batch():
            for tweet_id, (record, ttl) in records.items():
                key = cache.make_key(tweet_cache_key(tweet_id))
                redis_write("SET", key, cache.client.encode(record), "EX", int(ttl), on_reply=_ignore)
        return
    # One call; the batch expires with its youngest member's deadline.
    ttl = min(ttl for _, ttl in records.values())
    try:
        cache.set_many({tweet_cache_key(i): record for i, (record, _) in records.items()}, ttl)
    except Exception:
        return


def _ignore(reply) -> None:
    """The cache is an optimisation: a failed write is a later miss."""


def tweet_cache_delete(tweet_id: int) -> None:
    try:
        cache.delete(tweet_cache_key(tweet_id))
    except Exception:
        return


def tweet_cache_delete_many(tweet_ids: Iterable[int]) -> None:
    """Drop many records in one round trip (the lifecycle's batch moves)."""
    keys = [tweet_cache_key(i) for i in tweet_ids]
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception:
        return
