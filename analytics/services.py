"""Hashtag usage tracking and engagement-vector similarity."""

from __future__ import annotations

from datetime import datetime


def hashtag_uses_changed(*, added: list[str], removed: list[str], at: datetime) -> None:
    """Count `added` tags and uncount `removed` ones for the hour of `at`
    (the tweet's publication). Called inside the tweets app's transaction.

    Interim until the analytics issue lands."""
    return None
