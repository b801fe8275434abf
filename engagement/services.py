"""Write side of engagement: facts first (the source of truth), then counters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from engagement import counters, flags
from engagement.models import Like, Retweet
from nexus.db import prepared_cursor
from nexus.errors import NotFound
from tweets.models import VISIBLE_TWEET_SQL
from tweets.selectors import tweet_ids_visible_to


def _visible_or_404(tweet_id: int, user) -> None:
    if not tweet_ids_visible_to([tweet_id], user):
        raise NotFound("No such tweet.")


def _fact_write(model: type[Model], *, user_id: int, tweet_id: int, on: bool) -> bool:
    """Insert or delete the (user, tweet) row; True when that changed something.

    INSERT … ON CONFLICT DO NOTHING lets the unique constraint decide between
    concurrent repeats: exactly one of them inserts, so exactly one counts."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if on:
            cursor.execute(
                f"INSERT INTO {table} (user_id, tweet_id, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, tweet_id) DO NOTHING",
                [user_id, tweet_id, timezone.now()],
            )
        else:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND tweet_id = %s", [user_id, tweet_id])
        return cursor.rowcount == 1


# The visibility check and the fact's write as one statement; returns
# (visible, changed).
FACT_WRITE_IF_VISIBLE_SQL = {
    True: (
        "WITH target AS ({visible}), written AS ("
        "INSERT INTO {table} (user_id, tweet_id, created_at) SELECT %(user_id)s, id, %(now)s FROM target "
        "ON CONFLICT (user_id, tweet_id) DO NOTHING RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM written)"
    ),
    False: (
        "WITH target AS ({visible}), written AS ("
        "DELETE FROM {table} WHERE user_id = %(user_id)s AND tweet_id IN (SELECT id FROM target) RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM written)"
    ),
}


def _fact_write_if_visible(model: type[Model], *, user_id: int, tweet_id: int, on: bool) -> tuple[bool, bool]:
    sql = FACT_WRITE_IF_VISIBLE_SQL[on].format(visible=VISIBLE_TWEET_SQL, table=model._meta.db_table)
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"user_id": user_id, "tweet_id": tweet_id, "now": timezone.now()})
        visible, changed = cursor.fetchone()
    return visible, changed


def _fact_set(model: type[Model], metric: str, *, user, tweet_id: int, on: bool) -> int:
    deltas = {metric: 1 if on else -1}
    if connection.vendor == "postgresql" and counters.loaded_here(tweet_id):
        # The tweet's counters are loaded (no event_prepare to run before the
        # fact), so its visibility is checked by the statement that writes the
        # fact: one round trip instead of a cache read and then the write.
        with _flags_write(user, tweet_id):
            visible, changed = _fact_write_if_visible(model, user_id=user.pk, tweet_id=tweet_id, on=on)
        if not visible:
            raise NotFound("No such tweet.")
    else:
        _visible_or_404(tweet_id, user)
        counters.event_prepare(tweet_id=tweet_id)
        # The database backend counts in the fact's transaction; with Redis the
        # fact is a single autocommitted statement (no BEGIN/COMMIT round trips).
        with _flags_write(user, tweet_id), transaction.atomic() if not counters.uses_redis() else nullcontext():
            changed = _fact_write(model, user_id=user.pk, tweet_id=tweet_id, on=on)
            if changed:
                counters.event_in_transaction(tweet_id=tweet_id, deltas=deltas)
    counts = counters.event_after_commit(tweet_id=tweet_id, deltas=deltas) if changed else None
    if counts is None:
        counts = counters.counts_get_many([tweet_id])[tweet_id]
    return counts[metric]


@contextmanager
def _flags_write(user, tweet_id: int) -> Iterator[None]:
    """Around a fact's write: the user's cached flags for the tweet are
    dropped before, and again once the fact is committed (engagement.flags),
    so no reader can store what the facts said before this write."""
    flags.flags_write_begin(user_id=user.pk, tweet_id=tweet_id)
    try:
        yield
    finally:
        # After the commit, not before it, even inside someone's transaction
        # (never run if that rolls back: the pair is then read from the facts).
        transaction.on_commit(lambda: flags.flags_write_end(user_id=user.pk, tweet_id=tweet_id))


def like_set(*, user, tweet_id: int, liked: bool) -> int:
    """Like (or un-like) idempotently; returns the tweet's like count."""
    return _fact_set(Like, "likes", user=user, tweet_id=tweet_id, on=liked)


def retweet_set(*, user, tweet_id: int, retweeted: bool) -> int:
    """Retweet (or undo) idempotently; returns the tweet's retweet count."""
    return _fact_set(Retweet, "retweets", user=user, tweet_id=tweet_id, on=retweeted)


def views_record(*, tweet_ids: list[int], user) -> int:
    """Count one view per visible tweet id (unknown ones are ignored); returns how many counted."""
    visible_ids = tweet_ids_visible_to(tweet_ids, user)
    visible = [i for i in tweet_ids if i in visible_ids]
    if visible:
        counters.views_record(visible)
    return len(visible)


def engagement_tweet_visibility_changed(
    *, tweet_id: int, in_reply_to_id: int | None, quote_of_id: int | None, delta: int, is_new: bool = False
) -> None:
    """A reply/quote became visible (+1) or went away (-1): count it on its parent.

    Called inside the tweets app's transaction: the tweet row is the fact, so
    the database backend counts in that transaction and Redis after its commit
    (a rolled-back tweet must not count). A tweet that appears also gets its
    own counters loaded after the commit, before anyone can engage with it, so
    its first reads and likes find them in Redis."""
    if delta > 0:
        transaction.on_commit(lambda: counters.event_prepare(tweet_id=tweet_id, is_new=is_new))
    for parent_id, metric in ((in_reply_to_id, "replies"), (quote_of_id, "quotes")):
        if parent_id is None:
            continue
        deltas = {metric: delta}
        counters.event_in_transaction(tweet_id=parent_id, deltas=deltas)
        transaction.on_commit(
            lambda parent_id=parent_id, deltas=deltas: counters.event_after_commit(tweet_id=parent_id, deltas=deltas)
        )


def counters_flush() -> int:
    return counters.counters_flush()


def drift_check(*, sample: int = 200, tweet_ids: list[int] | None = None, repair: bool = True) -> dict:
    ids = tweet_ids if tweet_ids else counters.drift_sample(sample)
    # The users' cached flags of the tweets queued for repair go too: a write
    # queued them when it could not update those flags in Redis (engagement.flags).
    flags.flags_forget(counters.repairs_queued(ids))
    return counters.drift_check(tweet_ids=ids, repair=repair).as_dict()
