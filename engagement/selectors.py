"""Read side of engagement. The tweets app calls `metrics_for_many` when it
renders tweets; it must answer for many ids in one round trip."""

from __future__ import annotations

from collections.abc import Iterable

METRIC_NAMES = ("likes", "retweets", "replies", "quotes", "views")


def metrics_for_many(tweet_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    # Interim until the engagement issue lands: no counters yet.
    return {tweet_id: dict.fromkeys(METRIC_NAMES, 0) for tweet_id in tweet_ids}
