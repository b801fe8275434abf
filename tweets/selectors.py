"""Read side of tweets: records (cacheable, tier-independent), the ETag, and
the versions of a hot tweet. The JSON of a tweet, with its live metrics and
media, is composed in api.selectors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from nexus.timefmt import format_timestamp
from tweets import cache as tweet_cache
from tweets.models import Tier, Tweet, TweetVersion, edit_deadline, published_per_author_sql, record_visible_to
from tweets.serializers import VersionOutput

# Records of warm and cold tweets (rows in hand) from wherever their content
# lives now: the lifecycle's archive, passed in by the composition layer.
ArchivedRecordsReader = Callable[[list[Tweet]], dict[int, dict]]

HOT_CACHE_MIN_TTL = 5
# The output serializer renders (the schema's source); its fields are never built.
VERSION_OUTPUT = VersionOutput()


def tweet_record_build(
    tweet: Tweet, *, username: str | None = None, text: str | None = None, media_ids: list[int] | None = None
) -> dict:
    """The cacheable, tier-independent description of a tweet (no live metrics).
    Without arguments it reads a hot tweet's own author, content and media."""
    username = tweet.author.username if username is None else username
    text = tweet.content.text if text is None else text
    media_ids = tweet.media_ids if media_ids is None else media_ids
    return {
        "id": tweet.id,
        "author_id": tweet.author_id,
        "username": username,
        "text": text,
        "content_hash": tweet.content_id,
        "state": tweet.state,
        "version": tweet.version,
        "created_at": format_timestamp(tweet.created_at),
        "published_at": format_timestamp(tweet.published_at),
        "edited_at": format_timestamp(tweet.edited_at),
        "editable_until": format_timestamp(edit_deadline(tweet.published_at)),
        "in_reply_to_id": tweet.in_reply_to_id,
        "quote_of_id": tweet.quote_of_id,
        "media_ids": list(media_ids),
        "tier": tweet.tier,
    }


def hot_cache_ttl(tweet: Tweet, now: datetime | None = None) -> int:
    """Seconds left of the tweet's first 24 h (its cacheable life); ≤ 0 after."""
    now = now or timezone.now()
    remaining = (tweet.created_at + timedelta(seconds=settings.NEXUS_HOT_CACHE_SECONDS) - now).total_seconds()
    return int(remaining)


def tweet_cache_fill(tweet: Tweet) -> None:
    """Write-through for a freshly created hot tweet."""
    ttl = hot_cache_ttl(tweet)
    if tweet.tier == Tier.HOT and ttl >= HOT_CACHE_MIN_TTL:
        tweet_cache.tweet_cache_set_many({tweet.id: (tweet_record_build(tweet), ttl)})


def tweet_records_get_many(
    tweet_ids: Iterable[int], *, archived_records: ArchivedRecordsReader, cached: dict[int, dict] | None = None
) -> dict[int, dict]:
    """Records of tweets that are not deleted or removed (drafts included):
    one cache round trip (none when the caller read `cached`), one query for
    the misses, and one `archived_records` call for the warm and cold ones
    among them."""
    ids = list(dict.fromkeys(tweet_ids))
    records = tweet_cache.tweet_cache_get_many(ids) if cached is None else dict(cached)
    missing = [i for i in ids if i not in records]
    if missing:
        now = timezone.now()
        hot_to_cache: dict[int, tuple[dict, int]] = {}
        archived_to_cache: dict[int, tuple[dict, int]] = {}
        # A hydrated record never changes without an invalidation: the TTL
        # only bounds the cache's memory (0: not cached).
        archived_ttl = settings.NEXUS_ARCHIVE_CACHE_SECONDS
        rows = list(Tweet.objects.not_gone().filter(pk__in=missing).select_related("author", "content"))
        archived = [tweet for tweet in rows if tweet.tier != Tier.HOT]
        hydrated = archived_records(archived) if archived else {}
        for tweet in rows:
            if tweet.tier != Tier.HOT:
                if tweet.id not in hydrated:
                    continue
                records[tweet.id] = hydrated[tweet.id]
                if archived_ttl > 0:
                    archived_to_cache[tweet.id] = (hydrated[tweet.id], archived_ttl)
                continue
            record = records[tweet.id] = tweet_record_build(tweet)
            ttl = hot_cache_ttl(tweet, now)
            if ttl >= HOT_CACHE_MIN_TTL:
                hot_to_cache[tweet.id] = (record, ttl)
        # One round trip per kind (a batch expires with its shortest TTL, so
        # short-lived hot entries must not shorten the archived ones).
        tweet_cache.tweet_cache_set_many(hot_to_cache)
        tweet_cache.tweet_cache_set_many(archived_to_cache)
    return records


def tweet_ids_visible_to(tweet_ids: Iterable[int], user) -> set[int]:
    """Which of `tweet_ids` the user may see: from cached records where the
    cache has them, else from the rows (no archive read: visibility lives in
    the row in every tier)."""
    ids = list(dict.fromkeys(tweet_ids))
    cached = tweet_cache.tweet_cache_get_many(ids)
    visible = {i for i, record in cached.items() if record_visible_to(record, user)}
    missing = [i for i in ids if i not in cached]
    if missing:
        visible.update(Tweet.objects.visible_to(user).filter(pk__in=missing).values_list("pk", flat=True))
    return visible


def tweet_etag(tweet_json: dict) -> str:
    """`"<version>-<digest of the body>"`: the body digest makes 304s exact; the
    version prefix is what If-Match compares, so a like arriving between a
    client's GET and its PATCH does not fail the edit."""
    body = json.dumps(tweet_json, sort_keys=True, separators=(",", ":")).encode()
    return f'"{tweet_json["version"]}-{hashlib.sha1(body).hexdigest()[:16]}"'


def etag_version(etag: str) -> int | None:
    """The version an ETag from `tweet_etag` names, or None if it is not ours."""
    raw = etag.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    head, _, _ = raw.partition("-")
    return int(head) if head.isdigit() else None


def hot_versions(tweet_id: int) -> list[dict]:
    """The versions of a hot tweet from its rows, oldest first (warm and cold
    tweets carry theirs in the archived record)."""
    rows = TweetVersion.objects.filter(tweet_id=tweet_id).select_related("content").order_by("version")
    return [version_render(v.version, v.content.text, v.content_id, v.media_ids, v.created_at) for v in rows]


def version_render(version: int, text: str, content_hash: str, media_ids: list[int], created_at) -> dict:
    return VERSION_OUTPUT.to_representation((version, text, content_hash, media_ids, created_at))


def authors_get_many(author_ids: list[int]) -> dict[int, dict]:
    """Users by id with what their tweets say of them: `username`, `joined`,
    `statuses` (published, not gone) and `last_published_at`. One statement of
    plain SQL: the ORM's form of it (a correlated subquery per aggregate) cost
    ~4,600 Python calls to compile, twice a whole cached read."""
    if not author_ids:
        return {}
    placeholders = ", ".join(["%s"] * len(author_ids))
    sql = (
        f"SELECT u.id, u.username, u.date_joined, s.statuses, s.last_at FROM {get_user_model()._meta.db_table} u "
        f"LEFT JOIN ({published_per_author_sql(placeholders=placeholders)}) s ON s.author_id = u.id "
        f"WHERE u.id IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*author_ids, *author_ids])
        rows = cursor.fetchall()
    return {
        user_id: {
            "username": username,
            "joined": _db_datetime(joined),
            "statuses": statuses or 0,
            "last_published_at": _db_datetime(last_at),
        }
        for user_id, username, joined, statuses, last_at in rows
    }


def _db_datetime(value) -> datetime | None:
    """A datetime read by plain SQL: aware from PostgreSQL; from SQLite naive
    UTC, or text for an aggregate."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
