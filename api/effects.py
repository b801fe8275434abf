"""The one implementation of tweets.effects.TweetEffects: what a tweet's
change means to engagement (counts on its parent, its own counters), analytics
(hashtag counts) and the lifecycle (its schedule). Every write use-case in
api.services passes `TWEET_EFFECTS` to the tweets app's services."""

from __future__ import annotations

from datetime import datetime

from analytics.services import hashtag_uses_changed, hashtag_uses_ctes
from engagement.services import engagement_tweet_visibility_changed
from lifecycle.selectors import archived_records_get_many
from lifecycle.services import lifecycle_schedule, lifecycle_schedule_cte
from tweets.models import Tweet


class CrossAppTweetEffects:
    def create_statement_ctes(self, *, tweet: Tweet, tweet_cte: str, tags_cte: str) -> tuple[str, dict]:
        hashtags_sql, hashtags_params = hashtag_uses_ctes(source=tags_cte, at=tweet.created_at)
        schedule_sql, schedule_params = lifecycle_schedule_cte(tweet_cte=tweet_cte, published_at=tweet.published_at)
        return f"{hashtags_sql}, {schedule_sql}", hashtags_params | schedule_params

    def created(self, *, tweet: Tweet, tags: list[str]) -> None:
        if tweet.published_at is not None:
            lifecycle_schedule(tweet_id=tweet.id, published_at=tweet.published_at)
        if tags:
            hashtag_uses_changed(added=tags, removed=[], at=tweet.created_at)

    def published(self, *, tweet: Tweet) -> None:
        lifecycle_schedule(tweet_id=tweet.id, published_at=tweet.published_at)

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

    def archived_text(self, *, tweet: Tweet) -> str:
        return archived_records_get_many([tweet])[tweet.id]["text"]


TWEET_EFFECTS = CrossAppTweetEffects()
