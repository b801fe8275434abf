"""Write side of engagement."""

from __future__ import annotations


def engagement_tweet_visibility_changed(
    *, tweet_id: int, in_reply_to_id: int | None, quote_of_id: int | None, delta: int
) -> None:
    """A reply/quote became visible (+1) or went away (-1): count it on its parent.

    Called inside the tweets app's transaction."""
    # Interim until the engagement issue lands.
    return None
