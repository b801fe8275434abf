"""Read side of the lifecycle: archived tweets for the tweets app, and the
numbers the `storage_report` command and the operator dashboard show."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from lifecycle.archive import archive_read, history_rows_decode, tweet_archive_key
from lifecycle.models import LifecycleTask
from nexus.timefmt import format_timestamp


def archived_record(tweet) -> dict:
    """The full record of a warm or cold tweet, hydrated from its archive
    object: the shape of tweets.selectors.tweet_record_build plus "versions".

    The caller caches it (tweets.selectors.tweet_records_get_many, for
    `archived_record_ttl()` seconds, one round trip for a whole batch) under
    the tweets app's own record key; every change the tweets app invalidates
    (removal, restore) and every tier move (lifecycle invalidates after
    commit) drops it."""
    document = archive_read(tweet_archive_key(tweet))
    record = dict(document["record"])
    # The row is the truth for what can still change after archiving.
    record.update(
        tier=tweet.tier,
        state=tweet.state,
        author_id=tweet.author_id,
        username=tweet.author.username,
        versions=document["versions"],
    )
    return record


def archived_records_get_many(tweets: list) -> dict[int, dict]:
    """`archived_record` for many warm/cold rows (the reader the composition
    layer hands to tweets.selectors.tweet_records_get_many)."""
    return {tweet.id: archived_record(tweet) for tweet in tweets}


def archived_record_ttl() -> int:
    """Seconds a hydrated warm/cold record stays cached (0: not cached). Such
    a record never changes without an invalidation, so the TTL only bounds
    the cache's memory."""
    return settings.NEXUS_ARCHIVE_CACHE_SECONDS


def archive_document(tweet) -> dict:
    """The raw archive document (admin and tests): record, versions, hashtags, final counts."""
    return archive_read(tweet_archive_key(tweet))


def tweet_history(tweet, *, limit: int | None = None) -> list:
    """The tweet's whole simple-history, newest first: the rows the lifecycle
    moved into the archive at its warm/cold moves merged with the rows still in
    PostgreSQL (changes after the last move, e.g. a moderator's removal).
    Archived rows come back as unsaved historical instances with
    `history_user` set, so templates read both kinds alike."""
    from django.contrib.auth import get_user_model

    history_model = type(tweet).history.model
    rows = {row.history_id: row for row in type(tweet).history.filter(id=tweet.pk).select_related("history_user")}
    key = tweet_archive_key(tweet)
    if key:
        archived = [
            row
            for row in history_rows_decode(history_model, archive_read(key).get("history", []))
            if row.history_id not in rows
        ]
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
    from tweets.models import Tier, Tweet

    counts = dict(Tweet.objects.values_list("tier").annotate(n=Count("id")).order_by())
    return {tier: counts.get(tier, 0) for tier in Tier.values}


def queue_backlog(*, now=None) -> dict:
    """Queue rows due now, all queued rows, and the oldest due time (the lag)."""
    now = now or timezone.now()
    due = LifecycleTask.objects.filter(due_at__lte=now)
    aggregate = due.aggregate(n=Count("pk"), oldest=Min("due_at"))
    oldest = aggregate["oldest"]
    return {
        "due": aggregate["n"],
        "queued": _queue_rows(),
        "oldest_due_at": format_timestamp(oldest),
        "oldest_due_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "failing": LifecycleTask.objects.exclude(last_error="").count(),
    }


def _queue_rows() -> int:
    """All queued rows: the planner's estimate on PostgreSQL (one row per tweet
    of the last 90 days is too many to COUNT(*) on every dashboard refresh)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
                [LifecycleTask._meta.db_table],
            )
            estimate = cursor.fetchone()[0]
        if estimate > 0:
            return estimate
    return LifecycleTask.objects.count()


def storage_summary() -> dict:
    """Tier counts, measured bytes per tier and system, the all-hot baseline and
    the saving (the storage_report command and the dashboard call this)."""
    from lifecycle.storage import storage_summary as measure

    return measure()
