from __future__ import annotations

from django.db import models
from django.utils import timezone


class Target(models.TextChoices):
    WARM = "warm"
    COLD = "cold"


class Segment(models.Model):
    """The catalog: one row per live archive segment (lifecycle.segments).

    A tweet id finds its segment through its tier and the id range
    [min_id, max_id] (a GiST index over int8range(min_id, max_id) on
    PostgreSQL, migration 0003): nothing stores a per-tweet key. Ranges of two
    segments of one tier may overlap (concurrent batches); a point read then
    checks each candidate's cached footer, whose row groups carry id ranges.

    A row exists only once its object is written and verified: it is inserted
    in the transaction that moves the tweets, so an object without a row is an
    orphan of a move that never committed (the sweeper deletes it).
    `live_rows` counts the rows still in this segment's tier: a warm segment
    whose tweets went cold holds dead rows; compaction drops those."""

    tier = models.CharField(max_length=4, choices=Target.choices)
    key = models.CharField(max_length=255, unique=True)
    min_id = models.BigIntegerField()
    max_id = models.BigIntegerField()
    row_count = models.PositiveIntegerField()
    live_rows = models.PositiveIntegerField()
    row_groups = models.PositiveIntegerField()
    bytes = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tier", "min_id"], name="segment_tier_min_id"),
            # Compaction: the small or mostly dead segments of a tier.
            models.Index(fields=["tier", "live_rows"], name="segment_tier_live"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.min_id}…{self.max_id} ({self.row_count} rows)"


class SegmentErasure(models.Model):
    """An archived tweet deleted or removed: compaction rewrites its segment
    without it once `due_at` has passed (NEXUS_ERASURE_HOURS after the
    request at the latest) unless the tweet was restored meanwhile."""

    tweet_id = models.BigIntegerField(primary_key=True)
    requested_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="segment_erasure_due")]

    def __str__(self) -> str:
        return f"erase {self.tweet_id} by {self.due_at:%Y-%m-%d %H:%M}"


class OutboxCursor(models.Model):
    """How far a lifecycle job has read the tweets outbox (erasure watches
    tweet.deleted / tweet.removed events)."""

    name = models.CharField(max_length=32, primary_key=True)
    cursor = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name}: {self.cursor}"


class MoveLog(models.Model):
    """One row per committed batch (the dashboard's migrations per minute and
    the bench's figures); pruned after a day by compaction."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=4)
    target = models.CharField(max_length=4)
    tweets = models.PositiveIntegerField()
    seconds = models.FloatField()

    def __str__(self) -> str:
        return f"{self.tweets} {self.source}→{self.target} at {self.at:%H:%M:%S}"
