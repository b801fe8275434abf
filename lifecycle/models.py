from __future__ import annotations

from django.db import models


class Target(models.TextChoices):
    WARM = "warm"
    COLD = "cold"


class LifecycleTask(models.Model):
    """One due migration of one tweet: the durable queue behind SPEC section 7.

    Written in the transaction that publishes the tweet; deleted when the
    migration has committed. A claim pushes `due_at` forward by a lease, so a
    row whose worker died simply becomes due again: no separate "claimed"
    state to clean up, and the claim query stays one range scan of the due index."""

    id = models.BigAutoField(primary_key=True)
    tweet_id = models.BigIntegerField()
    target = models.CharField(max_length=4, choices=Target.choices)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tweet_id", "target"], name="lifecycle_task_unique")]
        indexes = [models.Index(fields=["due_at", "id"], name="lifecycle_task_due")]

    def __str__(self) -> str:
        return f"{self.tweet_id}→{self.target} at {self.due_at:%Y-%m-%d %H:%M}"
