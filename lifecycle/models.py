from __future__ import annotations

from django.db import models


class Target(models.TextChoices):
    WARM = "warm"
    COLD = "cold"


class LifecycleTask(models.Model):
    """The next due migration of one tweet: the durable queue behind SPEC section 7.

    One row per tweet, keyed by the tweet id: written (target warm) in the
    transaction that publishes the tweet; the warm move retargets it to cold
    with the cold due time in its own transaction; the cold move deletes it.
    A claim pushes `due_at` forward by a lease, so a row whose worker died
    simply becomes due again: no separate "claimed" state to clean up, and the
    claim query stays one range scan of the due index."""

    tweet_id = models.BigIntegerField(primary_key=True)
    target = models.CharField(max_length=4, choices=Target.choices)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["due_at", "tweet_id"], name="lifecycle_task_due")]

    def __str__(self) -> str:
        return f"{self.tweet_id}→{self.target} at {self.due_at:%Y-%m-%d %H:%M}"
