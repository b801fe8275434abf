"""Engagement facts and counters.

Facts (`Like`, `Retweet`) are the source of truth: one row per (user, tweet).
Counters are derived state, kept as a state-based CRDT (see engagement.counters):
`CounterSlot` holds one writer slot's monotonically growing P/N counters,
`TweetCounters` the per-tweet sum that readers and ranking use."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

METRICS = ("likes", "retweets", "replies", "quotes", "views")


class EngagementFact(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tweet = models.ForeignKey("tweets.Tweet", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user_id} → {self.tweet_id}"


class Like(EngagementFact):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="like_user_tweet_unique")]
        # liked_by: newest first, keyset-paginated on (created_at, id).
        indexes = [models.Index(fields=["tweet", "-created_at", "-id"], name="like_tweet_recent")]


class Retweet(EngagementFact):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="retweet_user_tweet_unique")]
        indexes = [models.Index(fields=["tweet", "-created_at", "-id"], name="retweet_tweet_recent")]


class CounterSlot(models.Model):
    """One writer slot's state for one tweet: per metric a P (increments) and
    an N (decrements) counter, both only ever growing. Merged with max()."""

    tweet_id = models.BigIntegerField()
    slot = models.CharField(max_length=32)
    likes_p = models.BigIntegerField(default=0)
    likes_n = models.BigIntegerField(default=0)
    retweets_p = models.BigIntegerField(default=0)
    retweets_n = models.BigIntegerField(default=0)
    replies_p = models.BigIntegerField(default=0)
    replies_n = models.BigIntegerField(default=0)
    quotes_p = models.BigIntegerField(default=0)
    quotes_n = models.BigIntegerField(default=0)
    views_p = models.BigIntegerField(default=0)
    views_n = models.BigIntegerField(default=0)
    # Database backend only: changed since the last flush into TweetCounters.
    dirty = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tweet_id", "slot"], name="counterslot_tweet_slot_unique")]
        indexes = [models.Index(fields=["id"], name="counterslot_dirty", condition=Q(dirty=True))]

    def __str__(self) -> str:
        return f"{self.tweet_id}@{self.slot}"


class TweetCounters(models.Model):
    """Flushed counts, one row per tweet (the sum of its CounterSlot rows)."""

    tweet_id = models.BigIntegerField(primary_key=True)
    likes = models.BigIntegerField(default=0)
    retweets = models.BigIntegerField(default=0)
    replies = models.BigIntegerField(default=0)
    quotes = models.BigIntegerField(default=0)
    views = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "tweet counters"

    def __str__(self) -> str:
        return str(self.tweet_id)

    def as_dict(self) -> dict[str, int]:
        return {m: getattr(self, m) for m in METRICS}


class EngagementBucket(models.Model):
    """Database backend only (no Redis): per-minute event counts for velocity
    and trending. Redis keeps these as expiring hashes instead."""

    tweet_id = models.BigIntegerField()
    minute = models.BigIntegerField()  # unix time // 60
    likes = models.IntegerField(default=0)
    retweets = models.IntegerField(default=0)
    replies = models.IntegerField(default=0)
    quotes = models.IntegerField(default=0)
    views = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tweet_id", "minute"], name="bucket_tweet_minute_unique")]
        indexes = [models.Index(fields=["minute"], name="bucket_minute")]

    def __str__(self) -> str:
        return f"{self.tweet_id}@{self.minute}"


class CounterRepair(models.Model):
    """A tweet whose live counter may have missed an event (Redis was down when
    its fact committed); the drift job reconciles it from the facts."""

    tweet_id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.tweet_id)
