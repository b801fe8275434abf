from __future__ import annotations


def archived_record(tweet) -> dict:
    """The full content of a warm or cold tweet, hydrated from the archive:
    {"text", "content_hash", "media_ids", "versions": [...]} (see tweets.selectors)."""
    raise NotImplementedError("the lifecycle issue provides the archive")
