"""Analytics state derived from the tweets and engagement apps (never the
source of truth; `manage.py analytics_backfill` rebuilds it).

- HashtagHour / HashtagStat: per-tag hourly use counts and per-tag totals,
  maintained by `analytics.services.hashtag_uses_changed` in the tweet's own
  transaction (see that module for why).
- EngagementVector: the log-scaled engagement vector of a published hot
  tweet, kept current by the counter flush. On PostgreSQL a GiST index on the
  expression `cube(ARRAY[likes, retweets, replies, quotes, views])`
  (migrations 0002/0003, raw SQL, PostgreSQL only; no stored cube column)
  serves the similarity query's `<->` ordering.
- EngagementPoint: one row per distinct quantised vector that warm tweets
  carry (a warm tweet keeps its vector as a packed key in its own row,
  tweets.Tweet.engagement_key): the kNN walk over warm tweets goes through
  the GiST index of these points (migration 0005), then to the tweets of each
  point through the tweets app's index on that key. See analytics.services.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HashtagHour(models.Model):
    """Uses of `tag` by tweets published in one hour (unix time // 3600)."""

    tag = models.CharField(max_length=100)
    hour = models.BigIntegerField()
    uses = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "hour"], name="hashtag_hour_unique")]
        # Trending reads the last two hours across all tags; pruning drops old hours.
        indexes = [models.Index(fields=["hour"], name="hashtag_hour_hour")]

    def __str__(self) -> str:
        return f"#{self.tag}@{self.hour}: {self.uses}"


class HashtagStat(models.Model):
    """Per tag: how many visible published tweets carry it now, and the latest
    publication time of a tweet that used it."""

    tag = models.CharField(max_length=100, primary_key=True)
    tweets = models.IntegerField(default=0)
    last_used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"#{self.tag}: {self.tweets}"


class EngagementVector(models.Model):
    """ln(1 + count) per metric, for published hot and warm tweets only."""

    tweet = models.OneToOneField(
        "tweets.Tweet", on_delete=models.CASCADE, primary_key=True, related_name="engagement_vector"
    )
    likes = models.FloatField(default=0.0)
    retweets = models.FloatField(default=0.0)
    replies = models.FloatField(default=0.0)
    quotes = models.FloatField(default=0.0)
    views = models.FloatField(default=0.0)
    # No updated_at: nothing read it, and 8 B on every hot and warm tweet (migration 0004).

    def __str__(self) -> str:
        return str(self.tweet_id)


class EngagementPoint(models.Model):
    """A quantised engagement vector some warm tweet carries: `key` packs it
    (analytics.services.engagement_key), the columns hold its decoded values
    for the GiST index on `cube(ARRAY[likes, …, views])`."""

    key = models.BigIntegerField(primary_key=True)
    likes = models.FloatField()
    retweets = models.FloatField()
    replies = models.FloatField()
    quotes = models.FloatField()
    views = models.FloatField()

    def __str__(self) -> str:
        return str(self.key)


class FeedCursor(models.Model):
    """How far a consumer of the tweets outbox feed has read (one row per consumer)."""

    name = models.CharField(max_length=50, primary_key=True)
    cursor = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.cursor}"
