"""Per-user write rate limit (NEXUS_WRITE_RATE, DRF's rate syntax).

Counted per API token (DRF tokens are one per user) or, for a session, per user.

A window that opens at the user's first write and lasts the rate's period,
counted with one atomic INCR per write (one round trip), instead of DRF's
sliding log (a GET and a SET of the whole timestamp list per request, which
profiling showed growing with the allowed rate). Like any fixed window it can
let up to twice the rate through across two adjacent windows; for abuse
protection that is the usual trade.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_PREFIX = "throttle:write:v3:"
# Set on the request by the token authentication when it counted the write.
WRITE_COUNTED_ATTR = "_nexus_write_count"
logger = logging.getLogger(__name__)


def write_rate() -> tuple[int, int]:
    """(writes allowed, window seconds), read per request so an override takes effect."""
    return SimpleRateThrottle.parse_rate(None, settings.NEXUS_WRITE_RATE)


def token_subject(token_key: str) -> str:
    # Hashed: the Redis keyspace never holds a usable token.
    return "t:" + hashlib.sha256(token_key.encode()).hexdigest()


def write_subject(request) -> str:
    """Whose writes are counted: the API token (one per user) or the session's user."""
    token = getattr(request, "auth", None)
    if token is not None and getattr(token, "key", None):
        return token_subject(token.key)
    return f"u:{request.user.pk}"


def _window_key(subject: str) -> str:
    return f"{KEY_PREFIX}{subject}"


def write_window_queue(pipe, *, subject: str, duration: int) -> None:
    """Queue one write's count on a Redis pipeline; the first of the two
    results it adds is the writes in the window so far. Lets the token lookup
    count a write in the same round trip (nexus.auth)."""
    full_key = cache.make_key(_window_key(subject))
    pipe.incr(full_key)
    pipe.expire(full_key, duration, nx=True)  # only the window's first write sets its end


def write_window_count(*, subject: str, duration: int) -> int:
    """Count one write of `subject` in its current window of `duration`
    seconds (opened by the first write); returns the writes in it so far."""
    if settings.REDIS_URL:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        write_window_queue(pipe, subject=subject, duration=duration)
        count, _ = pipe.execute()
        return int(count)
    key = _window_key(subject)
    if cache.add(key, 0, duration):
        cache.set(f"{key}:ends", time.time() + duration, duration)
    return cache.incr(key)


def write_window_seconds_left(*, subject: str, duration: int) -> int:
    """Seconds until the subject's current window closes (for Retry-After)."""
    key = _window_key(subject)
    if settings.REDIS_URL:
        ttl = get_redis_connection("default").ttl(cache.make_key(key))
        return ttl if ttl > 0 else 1
    ends = cache.get(f"{key}:ends")
    return max(1, int(ends - time.time())) if ends else duration


class WriteRateThrottle(BaseThrottle):
    """Per-user limit on writes only; reads are never throttled."""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return True
        allowed, duration = write_rate()
        subject = write_subject(request)
        try:
            # Counted already when the token lookup went to Redis (nexus.auth).
            count = getattr(request, WRITE_COUNTED_ATTR, None)
            if count is None:
                count = write_window_count(subject=subject, duration=duration)
            # For the X-RateLimit-* headers (mastodon_api.middleware), on Django's request.
            setattr(getattr(request, "_request", request), WRITE_COUNTED_ATTR, int(count))
            if count <= allowed:
                return True
            self.retry_after = write_window_seconds_left(subject=subject, duration=duration)
        except Exception:  # the cache is down: a write must not fail on its rate limiter
            logger.warning("write throttle unavailable (cache error); allowing request", exc_info=True)
            return True
        return False

    def wait(self) -> int | None:
        return self.retry_after
