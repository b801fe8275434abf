"""What engagement gives up when a tweet goes cold (called by the lifecycle).

A cold tweet's final counts are in its archive object; its counter state in
PostgreSQL is the CounterSlot rows (the CRDT state: views have no fact rows
to be recounted from, so those rows stay) and the TweetCounters row, which is
only their flushed sum. Nothing reads that sum for a cold tweet: live counts
come from Redis (rebuilt from the slots and the facts), the Redis-down
fallback sums the slots, and similarity and its vector cover hot and warm
tweets only. So the cold move drops it; a flush after new engagement on the
cold tweet writes it again, as for any tweet."""

from __future__ import annotations

from engagement.models import TweetCounters


def tweet_counters_release(*, tweet_id: int) -> None:
    """Drop the tweet's TweetCounters row (call in the cold move's transaction).

    A flush holding the row's lock makes this wait for its commit; a flush
    after it recreates the row (bulk_create ignore_conflicts), so the two
    never lose a count: the row is derived, the slots are the state."""
    TweetCounters.objects.filter(tweet_id=tweet_id).delete()


def tweets_counters_release(*, tweet_ids: list[int]) -> None:
    """`tweet_counters_release` for a whole batch, one DELETE (the lifecycle's
    bulk moves, in their transaction). The warm move drops the row too, once
    the tweet's engagement vector holds its counts: nothing else reads the sum
    of a warm tweet, and the next flush after new engagement writes it again."""
    if tweet_ids:
        TweetCounters.objects.filter(tweet_id__in=tweet_ids).delete()
