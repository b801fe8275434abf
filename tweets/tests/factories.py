from __future__ import annotations

from collections.abc import Iterable

from api.services import tweet_create
from tweets.models import OutboxEvent, Tweet
from tweets.outbox import row_events


def make_tweet(author, text: str = "hello world", **kwargs) -> Tweet:
    tweet, _ = tweet_create(author=author, text=text, **kwargs)
    return tweet


def stored_events(*, type: str, tweet_ids: Iterable[int]) -> list[tuple[int, int, int]]:
    """(tweet_id, author_id, version) of every stored `type` event of these
    tweets, batch rows expanded, in feed order; committed or not (the feed
    itself waits for the test's transaction to end)."""
    wanted = set(tweet_ids)
    rows = OutboxEvent.objects.filter(type=type).order_by("txid", "id")
    return [event for row in rows for event in row_events(row) if event[0] in wanted]
