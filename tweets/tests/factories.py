from __future__ import annotations

from tweets.models import Tweet
from tweets.services import tweet_create


def make_tweet(author, text: str = "hello world", **kwargs) -> Tweet:
    tweet, _ = tweet_create(author=author, text=text, **kwargs)
    return tweet
