"""What a tweet's changes mean to the apps above this one.

The tweets app owns the rules of a tweet (who may change it, versions, the
edit window, history, the outbox) and knows nothing of who counts, tags or
ages it. Its write services take a `TweetEffects` and call it, inside the
change's transaction, at the points where other apps must follow; the
composition layer (api.effects) is the one implementation that wires
engagement, analytics and the lifecycle in. Tests may pass their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tweets.models import Tweet


class TweetEffects(Protocol):
    def create_statement_ctes(self, *, tweet: Tweet, tweet_cte: str, tags_cte: str) -> tuple[str, dict]:
        """CTEs to append to the one-statement create of `tweet` (PostgreSQL).
        They write only when `tweet_cte` (column id) returned a row, and may
        read `tags_cte` (columns tag, delta). Returns SQL of the form
        `name AS (...), name2 AS (...)` and its named parameters."""

    def created(self, *, tweet: Tweet, tags: list[str]) -> None:
        """The same rows as `create_statement_ctes`, written one by one (SQLite)."""

    def published(self, *, tweet: Tweet) -> None:
        """A draft was published (its tags and parent counts are signalled apart)."""

    def hashtags_changed(self, *, added: list[str], removed: list[str], at: datetime) -> None:
        """The tweet's tag rows changed by these tags, used at `at`."""

    def visibility_changed(self, *, tweet: Tweet, delta: int, is_new: bool = False) -> None:
        """The tweet became visible (+1) or went away (-1): counts on its parent."""

    def archived_text(self, *, tweet: Tweet) -> str:
        """The current text of a warm tweet, whose row no longer holds it."""
