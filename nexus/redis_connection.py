"""redis-py connection class behind the process-wide "redis" circuit breaker
(django-redis builds its pool with it: CACHES OPTIONS CONNECTION_POOL_KWARGS).

Socket connect/read timeouts come from settings (REDIS_*_TIMEOUT); once Redis
has failed NEXUS_BREAKER_THRESHOLD times in a row, commands fail at once with
redis' own ConnectionError (so every caller's existing handling of "Redis is
down" applies) until the breaker lets a trial command through.
"""

from __future__ import annotations

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from nexus.breaker import DependencyUnavailable, breaker

REDIS = "redis"


class RedisCircuitOpen(RedisConnectionError):
    """Raised instead of calling Redis while its breaker is open."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Redis is unavailable (circuit open)")
        self.retry_after = retry_after


class BreakerConnection(redis.Connection):
    def send_packed_command(self, command, check_health=True):
        try:
            breaker(REDIS).before_call()
        except DependencyUnavailable as exc:
            raise RedisCircuitOpen(exc.retry_after) from None
        try:
            return super().send_packed_command(command, check_health=check_health)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            breaker(REDIS).record_failure()
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            breaker(REDIS).record_failure()
            raise
        except ResponseError:
            breaker(REDIS).record_success()  # an error reply is still an answer
            raise
        breaker(REDIS).record_success()
        return response


class BreakerConnectionPool(redis.ConnectionPool):
    """django-redis' CONNECTION_POOL_CLASS: TCP connections go through the breaker."""

    def __init__(self, connection_class=redis.Connection, **kwargs):
        if connection_class is redis.Connection:
            connection_class = BreakerConnection
        super().__init__(connection_class=connection_class, **kwargs)
