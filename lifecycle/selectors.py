"""Read side of the lifecycle: archived tweets (hydrated from segments, one
read per segment row group), and the numbers `storage_report` and the
operator dashboard show."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from lifecycle import segments, storage
from lifecycle.archive import ArchiveUnavailable, archive_read, history_rows_decode, legacy_row, tweet_archive_key
from lifecycle.models import MoveLog, Segment
from nexus.timefmt import format_timestamp
from tweets import selectors as tweet_selectors
from tweets import tiering
from tweets.models import Tier, Tweet

# One statement for a whole batch of (id, tier): the catalog rows of the
# segments whose id range holds each id, through the GiST index over
# int8range(min_id, max_id).
LOCATE_SQL = """
SELECT s.*, t.id AS located_id FROM unnest(%s::bigint[], %s::text[]) AS t(id, tier)
JOIN lifecycle_segment s ON s.tier = t.tier AND int8range(s.min_id, s.max_id, '[]') @> t.id
"""


# --- the catalog --------------------------------------------------------------------------
def segments_locate(pairs: Iterable[tuple[int, str]]) -> dict[int, list[Segment]]:
    """For each (tweet id, tier): the catalog's segments of that tier whose id
    range holds the id, newest first (usually exactly one; ranges of
    concurrent batches may overlap, and the footer then decides)."""
    pairs = list(pairs)
    found: dict[int, list[Segment]] = {tweet_id: [] for tweet_id, _ in pairs}
    if not pairs:
        return found
    if connection.vendor == "postgresql":
        for segment in Segment.objects.raw(LOCATE_SQL, [[p[0] for p in pairs], [p[1] for p in pairs]]):
            found[segment.located_id].append(segment)
    else:
        for tweet_id, tier in pairs:
            found[tweet_id] = list(Segment.objects.filter(tier=tier, min_id__lte=tweet_id, max_id__gte=tweet_id))
    for candidates in found.values():
        candidates.sort(key=lambda s: (s.created_at, s.pk), reverse=True)
    return found


def _store_error(exc: Exception) -> bool:
    return isinstance(exc, OSError) or exc.__class__.__module__.startswith(("botocore", "boto3", "urllib3"))


def archived_rows_get(tweets: Iterable[Tweet], *, columns: list[str] | None = None) -> dict[int, dict]:
    """The segment rows (lifecycle.segments.SCHEMA; only `columns` when given) of these warm/cold tweets,
    grouped by segment: one row-group read per group holding any of them.
    Tweets not yet repacked by `archive_upgrade` are read from their legacy
    per-tweet object. A tweet found nowhere (erased) is left out."""
    tweets = [t for t in tweets if t.tier != Tier.HOT]
    found: dict[int, dict] = {}
    for _attempt in range(2):  # a compaction may replace a segment between lookup and read
        wanted = [t for t in tweets if t.id not in found]
        if not wanted:
            break
        groups: dict[int, tuple[Segment, set[int]]] = {}
        for tweet_id, candidates in segments_locate((t.id, t.tier) for t in wanted).items():
            for segment in candidates:
                groups.setdefault(segment.pk, (segment, set()))[1].add(tweet_id)
        missing_object = False
        for segment, ids in groups.values():
            ids -= set(found)
            if not ids:
                continue
            try:
                found.update(segments.segment_read(segment.key, ids, size=segment.bytes, columns=columns))
            except segments.SegmentMissing:
                missing_object = True
            except Exception as exc:
                if _store_error(exc):
                    raise ArchiveUnavailable() from exc
                raise
        if not missing_object:
            break
    for tweet in tweets:
        if tweet.id in found:
            continue
        key = tweet_archive_key(tweet)
        try:
            found[tweet.id] = legacy_row(archive_read(key))
        except ArchiveUnavailable:
            continue  # not in the legacy format either: erased, or never archived
    return found


# --- records for the API --------------------------------------------------------------------
def _usernames(tweets: list[Tweet]) -> dict[int, str]:
    names = {t.author_id: t.author.username for t in tweets if "author" in t._state.fields_cache}
    missing = {t.author_id for t in tweets} - set(names)
    if missing:
        names.update(get_user_model().objects.filter(pk__in=missing).values_list("pk", "username"))
    return names


def _record(row: dict, tweet: Tweet, username: str) -> dict:
    """tweets.selectors.tweet_record_build's shape from the archived row, with
    what can still change after archiving (tier, state, author) from the row."""
    shadow = Tweet(
        id=tweet.id,
        author_id=tweet.author_id,
        state=tweet.state,
        version=row["version"],
        created_at=row["created_at"],
        published_at=row["published_at"],
        edited_at=row["edited_at"],
        in_reply_to_id=row["in_reply_to_id"],
        quote_of_id=row["quote_of_id"],
        tier=tweet.tier,
        content_id=row["content_hash"],
    )
    record = tweet_selectors.tweet_record_build(
        shadow, username=username, text=row["text"] or "", media_ids=row["media_ids"] or []
    )
    record["versions"] = [
        tweet_selectors.version_render(
            v["version"], v["text"] or "", v["content_hash"], v["media_ids"] or [], v["created_at"]
        )
        for v in row["versions"] or []
    ]
    return record


def archived_records_get_many(tweets: list[Tweet]) -> dict[int, dict]:
    """Per warm/cold tweet: the record shape of tweets.selectors.tweet_record_build
    plus "versions" (as the versions endpoint renders them), hydrated from
    its segment with the row's tier, state and author applied on top. Reads
    are grouped by segment and row group. Tweets whose archive holds nothing
    (erased) are left out; an unreachable store raises ArchiveUnavailable.

    The composition layer hands this reader to
    tweets.selectors.tweet_records_get_many, which caches the records
    (NEXUS_ARCHIVE_CACHE_SECONDS); every tier move invalidates them after commit."""
    tweets = [t for t in tweets if t.tier != Tier.HOT]
    rows = archived_rows_get(tweets, columns=segments.RECORD_COLUMNS)
    names = _usernames(tweets)
    return {t.id: _record(rows[t.id], t, names.get(t.author_id, "")) for t in tweets if t.id in rows}


def archive_document(tweet: Tweet) -> dict:
    """Everything the archive holds of one tweet (the admin and tests):
    record, versions, version authors, hashtags, history rows, final counts."""
    row = archived_rows_get([tweet]).get(tweet.id)
    if row is None:
        raise ArchiveUnavailable()
    record = _record(row, tweet, _usernames([tweet]).get(tweet.author_id, ""))
    versions = record.pop("versions")
    counts = {name: row.get(name) for name in segments.METRICS}
    return {
        "tweet_id": tweet.id,
        "record": record,
        "versions": versions,
        "version_authors": {str(v["version"]): v["created_by_id"] for v in row["versions"] or []},
        "hashtags": list(row["hashtags"] or []),
        "history": json.loads(row["history"]) if row.get("history") else [],
        "final_metrics": counts if counts["likes"] is not None else None,
        "archived_at": format_timestamp(row.get("archived_at")),
    }


def tweet_history(tweet: Tweet, *, limit: int | None = None) -> list:
    """The tweet's whole simple-history, newest first: the rows the lifecycle
    moved into the archive merged with the rows still in PostgreSQL (changes
    after the last move, e.g. a moderator's removal). Archived rows come back
    as unsaved historical instances with `history_user` set, so templates
    read both kinds alike."""
    history_model = type(tweet).history.model
    rows = {row.history_id: row for row in type(tweet).history.filter(id=tweet.pk).select_related("history_user")}
    if tweet.tier != Tier.HOT:
        try:
            items = archive_document(tweet)["history"]
        except ArchiveUnavailable:
            items = []
        archived = [row for row in history_rows_decode(history_model, items) if row.history_id not in rows]
        user_ids = {row.history_user_id for row in archived if row.history_user_id}
        users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
        for row in archived:
            if row.history_user_id in users:
                row.history_user = users[row.history_user_id]
            rows[row.history_id] = row
    ordered = sorted(rows.values(), key=lambda row: (row.history_date, row.history_id), reverse=True)
    return ordered[:limit] if limit is not None else ordered


# --- operator numbers (storage_report and the dashboard share these) ----------------------
def tier_counts() -> dict[str, int]:
    return storage.tier_counts()


def due_cutoffs(now: datetime | None = None) -> dict[str, datetime]:
    """Rows published at or before these times are due to become warm / cold.
    Never warm before the edit window has closed (the archive must hold the
    last version)."""
    now = now or timezone.now()
    warm_age = max(settings.NEXUS_HOT_SECONDS, settings.NEXUS_EDIT_WINDOW_SECONDS)
    cold_age = max(settings.NEXUS_WARM_SECONDS, warm_age)
    return {"warm": now - timedelta(seconds=warm_age), "cold": now - timedelta(seconds=cold_age)}


def segment_catalog() -> dict:
    """Catalog totals per tier: segments, rows, live rows, bytes."""
    per_tier = {
        row["tier"]: row
        for row in Segment.objects.values("tier").annotate(
            segments=Count("id"), rows=Sum("row_count"), live_rows=Sum("live_rows"), bytes=Sum("bytes")
        )
    }
    result = {}
    for tier in (Tier.WARM.value, Tier.COLD.value):
        row = per_tier.get(tier, {})
        result[tier] = {name: int(row.get(name) or 0) for name in ("segments", "rows", "live_rows", "bytes")}
    return result


def migrations_per_minute(*, minutes: int = 10, now=None) -> float:
    """Tweets moved per minute over the last `minutes` (committed batches)."""
    now = now or timezone.now()
    moved = MoveLog.objects.filter(at__gte=now - timedelta(minutes=minutes)).aggregate(n=Sum("tweets"))["n"] or 0
    return round(moved / minutes, 1)


def queue_backlog(*, now=None) -> dict:
    """The due queue (the tiers' due indexes): moves due now, the oldest due
    move's time and lag, segments in the catalog, migrations per minute."""
    now = now or timezone.now()
    cutoffs = due_cutoffs(now)
    due = tiering.tier_due_count(tier=Tier.HOT, published_before=cutoffs["warm"]) + tiering.tier_due_count(
        tier=Tier.WARM, published_before=cutoffs["cold"]
    )
    lags = []
    for tier, cutoff, age in (
        (Tier.HOT, cutoffs["warm"], now - cutoffs["warm"]),
        (Tier.WARM, cutoffs["cold"], now - cutoffs["cold"]),
    ):
        oldest = tiering.tier_due_oldest(tier=tier)
        if oldest is not None and oldest <= cutoff:
            lags.append(oldest + age)
    oldest_due = min(lags) if lags else None
    catalog = segment_catalog()
    return {
        "due": due,
        "queued": tiering.tier_pending_estimate(),
        "failing": 0,
        "oldest_due_at": format_timestamp(oldest_due),
        "oldest_due_age_seconds": round((now - oldest_due).total_seconds(), 1) if oldest_due else 0.0,
        "segments": sum(t["segments"] for t in catalog.values()),
        "segment_bytes": sum(t["bytes"] for t in catalog.values()),
        "migrations_per_minute": migrations_per_minute(now=now),
    }


def storage_summary() -> dict:
    """Tier counts, measured bytes per tier and system, the all-hot baseline and
    the saving (the storage_report command and the dashboard call this)."""
    return storage.storage_summary()
