from __future__ import annotations

from api.services import tweet_create
from tweets.models import Tweet


def make_tweet(author, text: str = "hello world", **kwargs) -> Tweet:
    tweet, _ = tweet_create(author=author, text=text, **kwargs)
    return tweet
