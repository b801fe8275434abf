"""Read side of engagement. The composition layer (api.selectors) calls
`metrics_for_many` when it renders tweets; it answers for many ids in one
round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.db.models import QuerySet

from engagement import counters, flags
from engagement.models import METRICS, Like
from nexus.timefmt import format_timestamp

VELOCITY_WINDOWS = {"per_minute_5m": 5, "per_minute_1h": 60}


def metrics_for_many(tweet_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Live counts (Redis, at most as stale as the last event) for many tweets."""
    return counters.counts_get_many(tweet_ids)


def metrics_read_many(tweet_ids: Iterable[int]) -> Callable[[Iterable[int]], dict[int, dict[str, int]]]:
    """`metrics_for_many`, read with the caller's `nexus.redis_batch` (so with
    the tweets' cached records): call the result after the batch, with the
    ids that turned out to be visible."""
    return counters.counts_read_many(tweet_ids)


def counters_flush_lag() -> dict[str, float | int]:
    """For the operator dashboard: tweets waiting for the flush and the lag."""
    return counters.flush_lag()


def engagement_get(*, tweet_id: int) -> dict:
    """Counts, per-metric velocity over 5 min and 1 h, and the per-minute series."""
    result: dict = dict(counters.counts_get_many([tweet_id])[tweet_id])
    series = counters.velocity_series(tweet_id)
    minutes = sorted(series)
    result["velocity"] = {
        m: {name: _per_minute(series, minutes[-span:], m) for name, span in VELOCITY_WINDOWS.items()} for m in METRICS
    }
    result["series"] = [
        {"minute": format_timestamp(datetime.fromtimestamp(minute * 60, tz=UTC)), **series[minute]}
        for minute in minutes
    ]
    return result


def _per_minute(series: dict[int, dict[str, int]], minutes: list[int], metric: str) -> float:
    return round(sum(series[minute][metric] for minute in minutes) / len(minutes), 4)


def trending_ranked(*, window_seconds: int, limit: int) -> list[tuple[int, float]]:
    """(tweet id, score) pairs, highest weighted engagement per minute first."""
    return counters.trending(window_seconds=window_seconds, limit=limit)


def liked_by_queryset(*, tweet_id: int) -> QuerySet:
    return Like.objects.filter(tweet_id=tweet_id).select_related("user").only("id", "created_at", "user__username")


def engaged_read_many(*, user_id: int, tweet_ids: Iterable[int]) -> Callable[[Iterable[int]], flags.Flags]:
    """Which of `tweet_ids` the user has liked, and which retweeted, read with
    the caller's `nexus.redis_batch` (engagement.flags): call the result after
    the batch, with the ids that turned out to be visible."""
    return flags.flags_read_many(user_id=user_id, tweet_ids=tweet_ids)


def engaged_by_user(*, user_id: int, tweet_ids: list[int]) -> flags.Flags:
    """Which of `tweet_ids` the user has liked, and which retweeted."""
    return flags.flags_get_many(user_id=user_id, tweet_ids=tweet_ids)
