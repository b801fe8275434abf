"""Per-user write rate limit (NEXUS_WRITE_RATE, DRF's rate syntax).

A window that opens at the user's first write and lasts the rate's period,
counted with one atomic INCR per write (one round trip), instead of DRF's
sliding log (a GET and a SET of the whole timestamp list per request, which
profiling showed growing with the allowed rate). Like any fixed window it can
let up to twice the rate through across two adjacent windows; for abuse
protection that is the usual trade.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_PREFIX = "throttle:write:v2:"
logger = logging.getLogger(__name__)


def _window_key(user_id: int) -> str:
    return f"{KEY_PREFIX}{user_id}"


def write_window_count(*, user_id: int, duration: int) -> int:
    """Count one write of `user_id` in its current window of `duration`
    seconds (opened by the first write); returns the writes in it so far."""
    key = _window_key(user_id)
    if settings.REDIS_URL:
        full_key = cache.make_key(key)
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, duration, nx=True)  # only the window's first write sets its end
        count, _ = pipe.execute()
        return int(count)
    if cache.add(key, 0, duration):
        cache.set(f"{key}:ends", time.time() + duration, duration)
    return cache.incr(key)


def write_window_seconds_left(*, user_id: int, duration: int) -> int:
    """Seconds until the user's current window closes (for Retry-After)."""
    key = _window_key(user_id)
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
        # Parsed per request so an operator's override takes effect.
        allowed, duration = SimpleRateThrottle.parse_rate(None, settings.NEXUS_WRITE_RATE)
        try:
            if write_window_count(user_id=request.user.pk, duration=duration) <= allowed:
                return True
            self.retry_after = write_window_seconds_left(user_id=request.user.pk, duration=duration)
        except Exception:  # the cache is down: a write must not fail on its rate limiter
            logger.warning("write throttle unavailable (cache error); allowing request", exc_info=True)
            return True
        return False

    def wait(self) -> int | None:
        return self.retry_after
