"""The one implementation of tweets.effects.TweetEffects: what a tweet's
change means to engagement (counts on its parent, its own counters) and
analytics (hashtag counts). Every write use-case in api.services passes
`TWEET_EFFECTS` to the tweets app's services. (The lifecycle needs nothing
here: it finds due moves through the tweet rows' due indexes.)"""

from __future__ import annotations

from datetime import datetime

from analytics.services import hashtag_uses_changed, hashtag_uses_ctes
from engagement.services import engagement_tweet_visibility_changed
from tweets.models import Tweet


class CrossAppTweetEffects:
    def create_statement_ctes(self, *, tweet: Tweet, tweet_cte: str, tags_cte: str) -> tuple[str, dict]:
        return hashtag_uses_ctes(source=tags_cte, at=tweet.created_at)

    def created(self, *, tweet: Tweet, tags: list[str]) -> None:
        if tags:
            hashtag_uses_changed(added=tags, removed=[], at=tweet.created_at)

    def hashtags_changed(self, *, added: list[str], removed: list[str], at: datetime) -> None:
        hashtag_uses_changed(added=added, removed=removed, at=at)

    def visibility_changed(self, *, tweet: Tweet, delta: int, is_new: bool = False) -> None:
        engagement_tweet_visibility_changed(
            tweet_id=tweet.id,
            in_reply_to_id=tweet.in_reply_to_id,
            quote_of_id=tweet.quote_of_id,
            delta=delta,
            is_new=is_new,
        )


TWEET_EFFECTS = CrossAppTweetEffects()
