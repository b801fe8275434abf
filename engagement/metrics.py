"""Engagement's numbers for /metrics (nexus/metrics.py), read when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from engagement import counters, selectors
from nexus.metrics import Gauge


def engagement_gauges() -> Iterator[Gauge]:
    lag = selectors.counters_flush_lag()
    yield Gauge(
        "nexus_counters_flush_lag_seconds",
        "How far PostgreSQL's engagement counters trail the live ones.",
        float(lag["lag_seconds"]),
    )
    yield Gauge(
        "nexus_counters_pending_tweets", "Tweets whose counters wait for the flush.", float(lag["pending_tweets"])
    )


def breaker_gauges() -> Iterator[Gauge]:
    # Per process: the one answering this scrape. nexus_redis_breaker_trips_total
    # counts the trips of every process.
    yield Gauge(
        "nexus_redis_breaker_open",
        "1 while this web process's engagement-counter breaker skips Redis after a failure.",
        1.0 if counters.redis_breaker_open() else 0.0,
        {"component": "engagement_counters"},
    )
