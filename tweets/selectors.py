"""Read side of tweets: records (cacheable, tier-independent) and their JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from engagement.selectors import metrics_for_many, metrics_read_many
from lifecycle import selectors as lifecycle_selectors
from media.selectors import media_render_many
from nexus.redis_batch import redis_batch
from nexus.timefmt import format_timestamp
from tweets import cache as tweet_cache
from tweets.models import Tier, Tweet, TweetState, TweetVersion

HOT_CACHE_MIN_TTL = 5


def tweet_record_build(
    tweet: Tweet, *, username: str | None = None, text: str | None = None, media_ids: list[int] | None = None
) -> dict:
    """The cacheable, tier-independent description of a tweet (no live metrics).
    Without arguments it reads a hot tweet's own author, content and media."""
    username = tweet.author.username if username is None else username
    text = tweet.content.text if text is None else text
    media_ids = tweet.media_ids if media_ids is None else media_ids
    deadline = None
    if tweet.published_at is not None:
        deadline = tweet.published_at + timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)
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
        "editable_until": format_timestamp(deadline),
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


def tweet_render_written(tweet: Tweet, *, created: bool = False) -> dict:
    """JSON of a tweet this request just wrote, from the instance in hand
    (no re-read); 404 semantics are the caller's, the row is known visible.
    A tweet created by this request has no engagement yet: no lookup."""
    return tweets_render([tweet_record_build(tweet)], zero_metrics=created)[0]


def tweet_records_get_many(tweet_ids: Iterable[int], *, cached: dict[int, dict] | None = None) -> dict[int, dict]:
    """Records of tweets that are not deleted or removed (drafts included):
    one cache round trip (none when the caller read `cached`), one query for
    the misses."""
    ids = list(dict.fromkeys(tweet_ids))
    records = tweet_cache.tweet_cache_get_many(ids) if cached is None else dict(cached)
    missing = [i for i in ids if i not in records]
    if missing:
        now = timezone.now()
        hot_to_cache: dict[int, tuple[dict, int]] = {}
        archived_to_cache: dict[int, tuple[dict, int]] = {}
        archived_ttl = lifecycle_selectors.archived_record_ttl()
        rows = list(Tweet.objects.not_gone().filter(pk__in=missing).select_related("author", "content"))
        # Warm and cold records: one read per archive segment row group for the whole batch.
        archived = lifecycle_selectors.archived_records_get_many([t for t in rows if t.tier != Tier.HOT])
        for tweet in rows:
            record = tweet_record_build(tweet) if tweet.tier == Tier.HOT else archived.get(tweet.id)
            if record is None:  # its archive holds nothing (erased)
                continue
            records[tweet.id] = record
            if tweet.tier != Tier.HOT:
                if archived_ttl > 0:
                    archived_to_cache[tweet.id] = (record, archived_ttl)
                continue
            ttl = hot_cache_ttl(tweet, now)
            if ttl >= HOT_CACHE_MIN_TTL:
                hot_to_cache[tweet.id] = (record, ttl)
        # One round trip per kind (a batch expires with its shortest TTL, so
        # short-lived hot entries must not shorten the archived ones).
        tweet_cache.tweet_cache_set_many(hot_to_cache)
        tweet_cache.tweet_cache_set_many(archived_to_cache)
    return records


# record_visible_to's rule as SQL, for a statement that must check and write
# at once (engagement's like): the id of tweet %(tweet_id)s when the
# authenticated user %(user_id)s may see it.
VISIBLE_TWEET_SQL = (
    "SELECT id FROM tweets_tweet WHERE id = %(tweet_id)s AND deleted_at IS NULL AND removed_at IS NULL "
    "AND (state <> 'draft' OR author_id = %(user_id)s)"
)


def record_visible_to(record: dict, user) -> bool:
    if record["state"] != TweetState.DRAFT:
        return True
    return user is not None and user.is_authenticated and record["author_id"] == user.pk


def tweets_render(
    records: list[dict], *, zero_metrics: bool = False, metrics: dict[int, dict] | None = None
) -> list[dict]:
    """Tweet JSON for records, with live metrics (looked up unless given) and
    media: one metrics lookup and at most one media lookup for the whole list."""
    if metrics is None:
        metrics = {} if zero_metrics else metrics_for_many([r["id"] for r in records])
    media = media_render_many(m for r in records for m in r["media_ids"])
    return [_render(r, metrics.get(r["id"]), media) for r in records]


def _render(record: dict, metrics: dict | None, media: dict[int, dict]) -> dict:
    return {
        "id": str(record["id"]),
        "author": {"id": str(record["author_id"]), "username": record["username"]},
        "text": record["text"],
        "content_hash": record["content_hash"],
        "state": record["state"],
        "version": record["version"],
        "created_at": record["created_at"],
        "edited_at": record["edited_at"],
        "editable_until": record["editable_until"],
        "in_reply_to_id": _str_or_none(record["in_reply_to_id"]),
        "quote_of_id": _str_or_none(record["quote_of_id"]),
        "media": [media[m] for m in record["media_ids"] if m in media],
        "metrics": metrics or {"likes": 0, "retweets": 0, "replies": 0, "quotes": 0, "views": 0},
        "tier": record["tier"],
    }


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def tweet_get(*, tweet_id: int, user) -> dict | None:
    """Tweet JSON, or None when unknown, gone, or someone else's draft."""
    found = tweets_get_many(tweet_ids=[tweet_id], user=user)
    return found[0] if found else None


def tweets_get_many(*, tweet_ids: list[int], user) -> list[dict]:
    """Tweet JSON in the order asked, invisible ids left out. The cached
    records and the live counts are read in one Redis round trip; counts are
    then completed only for the tweets found visible."""
    ids = list(dict.fromkeys(tweet_ids))
    with redis_batch():
        cached = tweet_cache.tweet_cache_read_many(ids)
        counts = metrics_read_many(ids)
    records = tweet_records_get_many(ids, cached=cached())
    ordered = [records[i] for i in ids if i in records and record_visible_to(records[i], user)]
    return tweets_render(ordered, metrics=counts([r["id"] for r in ordered]))


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


def tweet_versions(*, tweet_id: int, user) -> list[dict] | None:
    """All versions oldest first, in every tier; None when not visible."""
    record = tweet_records_get_many([tweet_id]).get(tweet_id)
    if record is None or not record_visible_to(record, user):
        return None
    if record["tier"] != Tier.HOT:
        return record["versions"]
    rows = TweetVersion.objects.filter(tweet_id=tweet_id).select_related("content").order_by("version")
    return [version_render(v.version, v.content.text, v.content_id, v.media_ids, v.created_at) for v in rows]


def version_render(version: int, text: str, content_hash: str, media_ids: list[int], created_at) -> dict:
    return {
        "version": version,
        "text": text,
        "content_hash": content_hash,
        "media_ids": [str(m) for m in media_ids],
        "created_at": created_at if isinstance(created_at, str) else format_timestamp(created_at),
    }
