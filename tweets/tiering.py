"""The tweets app's side of a tier move: every statement over tweets_* tables
that the lifecycle needs, set-based over a whole batch (the lifecycle app
decides what is due and writes the archive; it never writes these tables).

A move is: `tier_due_claim` (lock a batch of due rows), `tier_hot_rows` /
`tier_history_rows` (what the archive must hold), then, after the archive
segment is written and verified, `tier_move_apply` in the same transaction:
the rows slimmed, versions, history, hashtags and unused content deleted, one
`tweet.tier_changed` event per tweet (one outbox batch row for the move), and
the cache dropped after commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tweets import cache as tweet_cache
from tweets.models import EventType, Tier, Tweet, TweetContent, TweetHashtag, TweetState, TweetVersion
from tweets.outbox import event_batch_record

# The claim: due rows of one tier in publication order, read through an
# index (hot: the partial tweet_hot_due; warm: tweet_published_recent read
# backwards, whose oldest hot-or-warm rows are the warm ones), skipping rows
# another mover holds. FOR NO KEY UPDATE, not FOR UPDATE: it conflicts with
# other movers and with edits and moderation (FOR UPDATE) but not with the
# FOR KEY SHARE that a like's or reply's foreign key takes, so engagement on
# the batch never waits for the segment upload. The lock lasts until the
# move's transaction ends: a killed mover's connection closes, PostgreSQL
# aborts its transaction and the rows are claimable again at once.
CLAIM_SQL = (
    "SELECT id FROM tweets_tweet WHERE tier = %s AND published_at <= %s "
    "ORDER BY published_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED"
)


def tier_due_claim(*, tier: str, published_before: datetime, limit: int) -> list[int]:
    """Lock up to `limit` published rows of `tier` published at or before
    `published_before`; call inside the move's transaction. Returns their ids."""
    if connection.vendor != "postgresql":
        # SQLite serialises writers: the transaction itself is the claim.
        return list(
            Tweet.objects.filter(tier=tier, published_at__lte=published_before)
            .order_by("published_at")
            .values_list("id", flat=True)[:limit]
        )
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [tier, published_before, limit])
        return [row[0] for row in cursor.fetchall()]


def tier_due_oldest(*, tier: str) -> datetime | None:
    """Publication time of the oldest row still in `tier` (through its due index:
    tweet_hot_due, or tweet_published_recent for warm)."""
    return (
        Tweet.objects.filter(tier=tier, published_at__isnull=False)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )


def tier_due_count(*, tier: str, published_before: datetime, limit: int = 100_000) -> int:
    """Rows of `tier` due (bounded: an index-only count of at most `limit`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM tweets_tweet WHERE tier = %s AND published_at <= %s LIMIT %s) x",
                [tier, published_before, limit],
            )
            return cursor.fetchone()[0]
    return Tweet.objects.filter(tier=tier, published_at__lte=published_before)[:limit].count()


def tier_pending_estimate() -> int:
    """Rows with a move still ahead of them (hot and warm, published): the
    planner's size of tweet_published_recent (the hot and warm rows; drafts,
    a handful, included) on PostgreSQL (no COUNT over the table on every
    dashboard refresh), an exact count elsewhere or before the first ANALYZE."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(GREATEST(reltuples, 0)), 0)::bigint, bool_and(reltuples >= 0) "
                "FROM pg_class WHERE relname = 'tweet_published_recent'"
            )
            estimate, analysed = cursor.fetchone()
        if analysed and estimate > 0:
            return estimate
    return Tweet.objects.filter(tier__in=[Tier.HOT, Tier.WARM], published_at__isnull=False).count()


# --- what the archive holds -------------------------------------------------------------------
# Every read below is a handful of statements for the whole batch, the ids
# passed as one array (`= ANY(%s)`): an IN list of thousands of placeholders
# costs more to build and parse than the query itself.
def _history_columns() -> dict[str, str]:
    return {f.attname: f.column for f in Tweet.history.model._meta.concrete_fields}


# Per tweet: its history rows, oldest first, as one JSON array (every column
# by its column name, timestamps ISO 8601), built by PostgreSQL.
HISTORY_SQL = """
SELECT h.id, json_agg(to_jsonb(h) ORDER BY h.history_date, h.history_id)::text
FROM tweets_historicaltweet h WHERE h.id = ANY(%s) GROUP BY h.id
"""


def tier_history_json(*, tweet_ids: Sequence[int]) -> dict[int, str]:
    """Per tweet with history rows in PostgreSQL: a JSON array of them, oldest
    first, each with every column of the history table by column name."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_SQL, [list(tweet_ids)])
            return dict(cursor.fetchall())
    columns = _history_columns()
    found: dict[int, list[dict]] = {}
    rows = Tweet.history.filter(id__in=tweet_ids).order_by("id", "history_date", "history_id").values()
    for row in rows:
        found.setdefault(row["id"], []).append(
            {columns.get(k, k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        )
    return {tweet_id: json.dumps(items, separators=(",", ":")) for tweet_id, items in found.items()}


def tier_rows(*, tweet_ids: Sequence[int]) -> list[Tweet]:
    """The rows of these tweets (one statement, ids as an array on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return list(Tweet.objects.raw("SELECT * FROM tweets_tweet WHERE id = ANY(%s)", [list(tweet_ids)]))
    return list(Tweet.objects.filter(pk__in=tweet_ids))


def tier_history_rows(*, tweet_ids: Sequence[int]) -> dict[int, list[dict]]:
    """`tier_history_json`, decoded."""
    return {tweet_id: json.loads(items) for tweet_id, items in tier_history_json(tweet_ids=tweet_ids).items()}


HOT_ROWS_SQL = """
SELECT t.id, t.author_id, u.username, t.state, t.version, t.published_version, t.created_at, t.published_at,
    t.edited_at, t.in_reply_to_id, t.quote_of_id, t.content_hash, c.text, t.media_ids
FROM tweets_tweet t JOIN {users} u ON u.id = t.author_id
LEFT JOIN tweets_tweetcontent c ON c.hash = t.content_hash
WHERE t.id = ANY(%s)
"""
VERSIONS_SQL = """
SELECT v.tweet_id, v.version, c.text, v.content_hash, v.media_ids, v.created_at, v.created_by_id
FROM tweets_tweetversion v LEFT JOIN tweets_tweetcontent c ON c.hash = v.content_hash
WHERE v.tweet_id = ANY(%s) ORDER BY v.tweet_id, v.version
"""
HASHTAGS_SQL = "SELECT tweet_id, tag FROM tweets_tweethashtag WHERE tweet_id = ANY(%s) ORDER BY tweet_id, tag"
ROW_COLUMNS = (
    "id",
    "author_id",
    "username",
    "state",
    "version",
    "published_version",
    "created_at",
    "published_at",
    "edited_at",
    "in_reply_to_id",
    "quote_of_id",
    "content_hash",
    "text",
    "media_ids",
)
VERSION_COLUMNS = ("version", "text", "content_hash", "media_ids", "created_at", "created_by_id")


def _hot_rows_raw(tweet_ids: list[int]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(HOT_ROWS_SQL.format(users=connection.ops.quote_name(_users_table())), [tweet_ids])
            rows = cursor.fetchall()
            cursor.execute(VERSIONS_SQL, [tweet_ids])
            versions = cursor.fetchall()
            cursor.execute(HASHTAGS_SQL, [tweet_ids])
            tags = cursor.fetchall()
        return rows, versions, tags
    orm_names = {"username": "author__username", "content_hash": "content_id", "text": "content__text"}
    rows = list(Tweet.objects.filter(pk__in=tweet_ids).values_list(*[orm_names.get(c, c) for c in ROW_COLUMNS]))
    versions = list(
        TweetVersion.objects.filter(tweet_id__in=tweet_ids)
        .order_by("tweet_id", "version")
        .values_list("tweet_id", "version", "content__text", "content_id", "media_ids", "created_at", "created_by_id")
    )
    tags = list(
        TweetHashtag.objects.filter(tweet_id__in=tweet_ids).order_by("tweet_id", "tag").values_list("tweet_id", "tag")
    )
    return rows, versions, tags


def _json_list(value) -> list:
    """A jsonb list column: Django's cursors hand raw jsonb over as text."""
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _users_table() -> str:
    return Tweet._meta.get_field("author").related_model._meta.db_table


def tier_hot_rows(*, tweet_ids: Sequence[int]) -> list[dict]:
    """Everything the archive keeps of these (hot) tweets, one dict each: the
    row's columns, the author's username, text, media, hashtags, every version
    with its text, and the history rows (a JSON array, `tier_history_json`).
    Four statements for the whole batch."""
    ids = list(tweet_ids)
    rows, version_rows, tag_rows = _hot_rows_raw(ids)
    versions: dict[int, list[dict]] = {}
    for v in version_rows:
        item = dict(zip(VERSION_COLUMNS, v[1:], strict=True))
        item["text"] = item["text"] or ""
        item["media_ids"] = _json_list(item["media_ids"])
        versions.setdefault(v[0], []).append(item)
    hashtags: dict[int, list[str]] = {}
    for tweet_id, tag in tag_rows:
        hashtags.setdefault(tweet_id, []).append(tag)
    history = tier_history_json(tweet_ids=ids)
    found = []
    for values in rows:
        row = dict(zip(ROW_COLUMNS, values, strict=True))
        row["text"] = row["text"] or ""
        row["media_ids"] = _json_list(row["media_ids"])
        row["hashtags"] = hashtags.get(row["id"], [])
        row["versions"] = versions.get(row["id"], [])
        row["history"] = history.get(row["id"], "[]")
        found.append(row)
    return found


# --- the move itself ------------------------------------------------------------------------
WARM_SQL = """
UPDATE tweets_tweet t SET tier = 'warm', content_hash = NULL, media_ids = '[]'::jsonb, engagement_key = k.key,
    search_vector = strip(coalesce(t.search_vector, ''::tsvector)) || coalesce(
        (SELECT array_to_tsvector(array_agg(DISTINCT '#' || h.tag)) FROM tweets_tweethashtag h WHERE h.tweet_id = t.id),
        ''::tsvector)
FROM unnest(%(ids)s::bigint[], %(keys)s::bigint[]) AS k(id, key)
WHERE t.id = k.id AND t.tier = 'hot'
RETURNING t.id, t.author_id, t.version
"""
COLD_SQL = """
UPDATE tweets_tweet SET tier = 'cold', state = 'archived', search_vector = NULL, edited_at = NULL,
    published_version = NULL, content_hash = NULL, media_ids = '[]'::jsonb, engagement_key = NULL
WHERE id = ANY(%(ids)s) AND tier = %(source)s
RETURNING id, author_id, version
"""
HASHES_SQL = """
SELECT content_hash FROM tweets_tweet WHERE id = ANY(%(ids)s) AND content_hash IS NOT NULL
UNION SELECT content_hash FROM tweets_tweetversion WHERE tweet_id = ANY(%(ids)s) AND content_hash IS NOT NULL
"""
# Content rows no tweet or version uses any more. A poster reusing the text
# right now pins the row FOR KEY SHARE (tweets.services.CONTENT_PIN_SQL), which
# this FOR UPDATE SKIP LOCKED skips: the row stays, as it must.
CONTENT_RELEASE_SQL = """
DELETE FROM tweets_tweetcontent WHERE hash IN (
    SELECT c.hash FROM tweets_tweetcontent c WHERE c.hash = ANY(%(hashes)s)
    AND NOT EXISTS (SELECT 1 FROM tweets_tweet t WHERE t.content_hash = c.hash)
    AND NOT EXISTS (SELECT 1 FROM tweets_tweetversion v WHERE v.content_hash = c.hash)
    FOR UPDATE SKIP LOCKED)
"""


def tier_move_apply(
    *,
    tweet_ids: list[int],
    source: str,
    target: str,
    engagement_keys: dict[int, int] | None = None,
    now: datetime | None = None,
) -> int:
    """Slim the claimed rows from `source` to `target` (call inside the move's
    transaction, holding the claim's row locks, after the archive segment
    holding them was written and verified). Warm rows keep ids, author, times,
    their `engagement_keys` (see Tweet.engagement_key; written by the same
    statement, since a second UPDATE would write every row and index entry
    again) and a stripped search vector with their hashtags folded in as
    `#tag` lexemes; cold rows become stubs. Versions, history rows, hashtag rows and
    content no one else uses are deleted; the rows that moved get one
    tweet.tier_changed event each, written as one batch row (the move is one
    change; the feed shows an event per tweet). Returns the number of rows moved."""
    if not tweet_ids:
        return 0
    now = now or timezone.now()
    ids = list(tweet_ids)
    keys = engagement_keys or {}
    if connection.vendor == "postgresql":
        moved = _apply_postgresql(ids, source=source, target=target, keys=keys, now=now)
    else:
        moved = _apply_orm(ids, source=source, target=target, keys=keys, now=now)
    transaction.on_commit(lambda: tweet_cache.tweet_cache_delete_many(ids))
    return moved


def _apply_postgresql(ids: list[int], *, source: str, target: str, keys: dict[int, int], now: datetime) -> int:
    params = {"ids": ids, "source": source, "keys": [keys.get(i) for i in ids]}
    with connection.cursor() as cursor:
        hashes: list[str] = []
        if source == Tier.HOT:
            cursor.execute(HASHES_SQL, params)
            hashes = [row[0] for row in cursor.fetchall()]
        cursor.execute(WARM_SQL if target == Tier.WARM else COLD_SQL, params)
        moved = sorted(cursor.fetchall())
        _events_record(moved, now=now)
        if source == Tier.HOT:
            cursor.execute("DELETE FROM tweets_tweetversion WHERE tweet_id = ANY(%(ids)s)", params)
            cursor.execute("DELETE FROM tweets_tweethashtag WHERE tweet_id = ANY(%(ids)s)", params)
        cursor.execute(f"DELETE FROM {Tweet.history.model._meta.db_table} WHERE id = ANY(%(ids)s)", params)
        if hashes:
            cursor.execute(CONTENT_RELEASE_SQL, {"hashes": hashes})
    return len(moved)


def _events_record(moved: list[tuple[int, int, int]], *, now: datetime) -> None:
    """The tier_changed events of the rows that moved (none: a replay moved nothing)."""
    if moved:
        event_batch_record(type=EventType.TIER_CHANGED, events=moved, at=now)


def _apply_orm(ids: list[int], *, source: str, target: str, keys: dict[int, int], now: datetime) -> int:
    """The same writes on SQLite (no tsvector: SQLite search covers hot text only)."""
    hashes = set()
    if source == Tier.HOT:
        hashes = set(Tweet.objects.filter(pk__in=ids).values_list("content_id", flat=True))
        hashes |= set(TweetVersion.objects.filter(tweet_id__in=ids).values_list("content_id", flat=True))
    fields: dict = {"tier": target, "content": None, "media_ids": []}
    if target == Tier.COLD:
        fields |= {"state": TweetState.ARCHIVED, "edited_at": None, "published_version": None, "engagement_key": None}
    rows = Tweet.objects.filter(pk__in=ids, tier=source)
    moved = list(rows.order_by("id").values_list("id", "author_id", "version"))
    rows.update(**fields)
    moved_ids = {tweet_id for tweet_id, *_ in moved}
    by_key: dict[int, list[int]] = {}
    for tweet_id, key in keys.items():
        if tweet_id in moved_ids and target == Tier.WARM:
            by_key.setdefault(key, []).append(tweet_id)
    for key, key_ids in by_key.items():
        Tweet.objects.filter(pk__in=key_ids).update(engagement_key=key)
    _events_record(moved, now=now)
    for queryset in (
        TweetVersion.objects.filter(tweet_id__in=ids),
        TweetHashtag.objects.filter(tweet_id__in=ids),
        Tweet.history.filter(id__in=ids),
    ):
        queryset._raw_delete(queryset.db)
    hashes.discard(None)
    if hashes:
        unused = TweetContent.objects.filter(hash__in=hashes).exclude(
            Q(hash__in=Tweet.objects.filter(content_id__in=hashes).values("content_id"))
            | Q(hash__in=TweetVersion.objects.filter(content_id__in=hashes).values("content_id"))
        )
        unused._raw_delete(unused.db)
    return len(moved)


def tier_history_release(*, tweet_ids: list[int]) -> None:
    """Delete history rows the archive now holds (a segment rewrite merged them)."""
    queryset = Tweet.history.filter(id__in=tweet_ids)
    queryset._raw_delete(queryset.db)


GONE_SQL = "SELECT id FROM tweets_tweet WHERE id = ANY(%s) AND (deleted_at IS NOT NULL OR removed_at IS NOT NULL)"


def tier_gone_ids(*, tweet_ids: Sequence[int]) -> set[int]:
    """Those of `tweet_ids` that are deleted or removed now."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(GONE_SQL, [list(tweet_ids)])
            return {row[0] for row in cursor.fetchall()}
    return set(
        Tweet.objects.filter(pk__in=tweet_ids)
        .filter(Q(deleted_at__isnull=False) | Q(removed_at__isnull=False))
        .values_list("id", flat=True)
    )


# --- the warm rows' engagement vectors ----------------------------------------------------------
# Rows whose key changes, locked in primary-key order (concurrent writers
# cannot deadlock on each other); rows another transaction holds are skipped.
ENGAGEMENT_KEYS_SQL = """
WITH k(id, key) AS (SELECT * FROM unnest(%(ids)s::bigint[], %(keys)s::bigint[])),
todo AS (
    SELECT t.id, k.key FROM tweets_tweet t JOIN k ON k.id = t.id
    WHERE t.tier = 'warm' AND t.engagement_key IS DISTINCT FROM k.key
    ORDER BY t.id FOR NO KEY UPDATE OF t SKIP LOCKED
)
UPDATE tweets_tweet t SET engagement_key = todo.key FROM todo WHERE t.id = todo.id
"""


def warm_engagement_keys_set(*, keys: dict[int, int]) -> int:
    """Rewrite the engagement key (tweets.models.Tweet.engagement_key) of
    these warm rows, tweet id → key, after engagement changed it; other
    tiers' rows and unchanged keys are left alone. Rows another transaction
    holds are skipped, not waited for: the caller (the counter flush) holds
    other locks that a mover taking those rows cold may want next, and a row
    going cold loses its key anyway. (A move writes the key in its own
    UPDATE: tier_move_apply.) Returns rows written."""
    if not keys:
        return 0
    ids = sorted(keys)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(ENGAGEMENT_KEYS_SQL, {"ids": ids, "keys": [keys[i] for i in ids]})
            return cursor.rowcount
    written = 0
    for tweet_id in ids:
        rows = Tweet.objects.filter(pk=tweet_id, tier=Tier.WARM).exclude(engagement_key=keys[tweet_id])
        written += rows.update(engagement_key=keys[tweet_id])
    return written
