from __future__ import annotations

import pytest

from engagement import counters
from tweets.tests.factories import make_tweet


@pytest.fixture
def tweet(user):
    return make_tweet(user, "engage with me")


@pytest.fixture
def redis_flushdb():
    """FLUSHDB of this run's Redis database (REDIS_URL's db, ours alone)."""
    from django_redis import get_redis_connection

    def _flush() -> None:
        get_redis_connection("default").flushdb()

    return _flush


@pytest.fixture
def tweet_metrics(anon_client):
    def _metrics(tweet_id: int) -> dict:
        response = anon_client.get(f"/api/v1/tweets/{tweet_id}")
        assert response.status_code == 200, response.content
        return response.json()["metrics"]

    return _metrics


@pytest.fixture(autouse=True)
def _redis_breaker_closed():
    counters.redis_breaker_reset()
    yield
    counters.redis_breaker_reset()
