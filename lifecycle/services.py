from __future__ import annotations

from datetime import datetime


def lifecycle_schedule(*, tweet_id: int, published_at: datetime) -> None:
    """Queue the tweet's hot→warm and warm→cold migrations (same transaction).

    Interim until the lifecycle issue lands."""
    return None
