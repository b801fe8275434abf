"""Write side of the lifecycle (SPEC section 7): scheduling, claiming due work
and the two migrations hot → warm → cold.

Crash safety, step by step: a migration locks the tweet row, checks its tier,
writes the archive object (record, versions, simple-history rows), and only
then slims the row, deletes what the archive now holds (versions, history),
writes the `tweet.tier_changed` event and deletes its queue row — all in one
transaction. A crash before the commit leaves the row as it
was (the queue row's lease runs out and it is claimed again; the orphaned
object is overwritten by the re-run); a crash after it leaves nothing to do
(the re-run sees the new tier and only drops the queue row)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Func, OuterRef
from django.utils import timezone

from analytics.services import engagement_vector_release
from engagement.lifecycle import tweet_counters_release
from engagement.selectors import metrics_for_many
from lifecycle.archive import (
    archive_delete,
    archive_key,
    archive_read,
    archive_write,
    history_rows_encode,
    tweet_archive_key,
)
from lifecycle.models import LifecycleTask, Target
from tweets import cache as tweet_cache
from tweets.models import EventType, Tier, Tweet, TweetContent, TweetHashtag, TweetState, TweetVersion
from tweets.outbox import event_record
from tweets.selectors import tweet_record_build, version_render

logger = logging.getLogger(__name__)

TIER_RANK = {Tier.HOT: 0, Tier.WARM: 1, Tier.COLD: 2}
MAX_BACKOFF_SECONDS = 6 * 3600


# --- scheduling ---------------------------------------------------------------------------
def lifecycle_due_times(published_at: datetime) -> dict[str, datetime]:
    """When a tweet published at `published_at` becomes warm and cold; never
    before its edit window has closed (the archive must hold the last version)."""
    edit_closed = published_at + timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)
    warm = max(published_at + timedelta(days=settings.NEXUS_HOT_DAYS), edit_closed)
    cold = max(published_at + timedelta(days=settings.NEXUS_WARM_DAYS), warm)
    return {Target.WARM: warm, Target.COLD: cold}


def lifecycle_task_build(*, tweet_id: int, published_at: datetime) -> LifecycleTask:
    """The queue row of a newly published tweet (one per tweet: its primary
    key): its next move, to warm (the warm move retargets the row to cold)."""
    return LifecycleTask(tweet_id=tweet_id, target=Target.WARM, due_at=lifecycle_due_times(published_at)[Target.WARM])


def lifecycle_schedule(*, tweet_id: int, published_at: datetime) -> None:
    """Queue the tweet's first move. Called by the tweets app inside the
    transaction that publishes the tweet, so a published tweet always has its
    queue row and a rolled-back one never does."""
    LifecycleTask.objects.bulk_create(
        [lifecycle_task_build(tweet_id=tweet_id, published_at=published_at)], ignore_conflicts=True
    )


def lifecycle_schedule_cte(*, tweet_cte: str, published_at: datetime | None) -> tuple[str, dict]:
    """`lifecycle_schedule` as a CTE for a caller's own statement (the post
    path's one statement): the queue row of the tweet `tweet_cte` returns."""
    target = due = None
    if published_at is not None:
        target, due = Target.WARM, lifecycle_due_times(published_at)[Target.WARM]
    sql = (
        "lifecycle_queue AS ("
        "INSERT INTO lifecycle_lifecycletask (tweet_id, target, due_at, attempts, last_error) "
        f"SELECT id, %(lifecycle_target)s::varchar, %(lifecycle_due)s::timestamptz, 0, '' FROM {tweet_cte} "
        "WHERE %(lifecycle_target)s::varchar IS NOT NULL ON CONFLICT DO NOTHING)"
    )
    return sql, {"lifecycle_target": target, "lifecycle_due": due}


def _queue_next(*, tweet_id: int, tweet: Tweet | None) -> None:
    """Point the tweet's one queue row at its next move, in the transaction of
    the move just made (so the row and the tier never disagree after a crash):
    warm → the cold move at its due time; cold, gone or unpublished → no row."""
    if tweet is not None and tweet.published_at is not None and tweet.tier == Tier.WARM:
        due = lifecycle_due_times(tweet.published_at)[Target.COLD]
        LifecycleTask.objects.update_or_create(
            tweet_id=tweet_id, defaults={"target": Target.COLD, "due_at": due, "attempts": 0, "last_error": ""}
        )
    elif tweet is None or tweet.published_at is None or tweet.tier == Tier.COLD:
        LifecycleTask.objects.filter(pk=tweet_id).delete()


# --- claiming ------------------------------------------------------------------------------
def lifecycle_claim_queryset(*, now: datetime):
    """The claim query: due rows in due order, read through `lifecycle_task_due`
    and skipping rows another claimer holds (tests EXPLAIN exactly this)."""
    return (
        LifecycleTask.objects.select_for_update(skip_locked=True)
        .filter(due_at__lte=now)
        .order_by("due_at", "tweet_id")
        .values_list("tweet_id", flat=True)
    )


def lifecycle_claim(*, limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due rows by pushing their due time one lease ahead;
    returns their keys (tweet ids: one row per tweet).

    Two concurrent claimers never get the same row (SKIP LOCKED, then the
    UPDATE commits the lease); a claimed row whose worker dies becomes due again
    when its lease ends, which is the retry."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.NEXUS_LIFECYCLE_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(lifecycle_claim_queryset(now=now)[:limit])
        if ids:
            LifecycleTask.objects.filter(tweet_id__in=ids).update(due_at=now + lease, attempts=F("attempts") + 1)
    return ids


# --- processing ----------------------------------------------------------------------------
def lifecycle_task_process(*, task_id: int) -> str:
    """Run one claimed queue row (`task_id` is its key, the tweet id). Returns
    what happened (for logs and tests): "migrated", "noop" (already there or
    gone), "deferred" or "failed"."""
    task = LifecycleTask.objects.filter(pk=task_id).first()
    if task is None:
        return "noop"  # finished by an earlier delivery
    try:
        outcome = tweet_migrate(tweet_id=task.tweet_id, target=task.target, scheduled=True)
    except Exception as exc:
        # The row stays queued; back off exponentially so a broken store is not hammered.
        backoff = min(MAX_BACKOFF_SECONDS, settings.NEXUS_LIFECYCLE_LEASE_SECONDS * 2 ** min(task.attempts, 10))
        LifecycleTask.objects.filter(pk=task.pk).update(
            due_at=timezone.now() + timedelta(seconds=backoff), last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.exception("lifecycle: tweet %s → %s failed (attempt %s)", task.tweet_id, task.target, task.attempts)
        return "failed"
    if isinstance(outcome, datetime):
        LifecycleTask.objects.filter(pk=task.pk).update(due_at=outcome)
        return "deferred"
    return outcome


def lifecycle_tasks_process(*, task_ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task_id in task_ids:
        outcome = lifecycle_task_process(task_id=task_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def lifecycle_run_due(*, batch_size: int | None = None, progress=None) -> dict[str, int]:
    """Process everything due now in this process, batch by batch (the
    `lifecycle_run` command). `progress(n)` is called after each row."""
    batch_size = batch_size or settings.NEXUS_LIFECYCLE_BATCH_SIZE
    started = timezone.now()
    totals: dict[str, int] = {}
    while True:
        # `started` bounds the run: rows deferred or failed during it are not re-taken.
        ids = lifecycle_claim(limit=batch_size, now=started)
        if not ids:
            return totals
        for task_id in ids:
            outcome = lifecycle_task_process(task_id=task_id)
            totals[outcome] = totals.get(outcome, 0) + 1
            if progress is not None:
                progress(1)


def tweet_migrate(*, tweet_id: int, target: str, scheduled: bool = False) -> str | datetime:
    """Move one tweet to `target` (warm or cold). Idempotent: a tweet already
    there (or further) is left alone. Returns "migrated", "noop", or the time
    to try again when the tweet may still be edited. Either way the tweet's
    queue row ends up naming its next move, in the same transaction.

    `scheduled` (a move taken from the queue): a warm move whose cold time has
    passed too goes straight to cold (one archive object, not two), and a cold
    move is never made before its due time (a redelivered worker message may
    name a row the warm move has since retargeted to cold, months ahead)."""
    with transaction.atomic():
        # The row lock serialises moves of one tweet (a claimed row may be
        # redelivered to a second worker) and any moderation of it; readers
        # are never blocked.
        tweet = Tweet.objects.select_for_update().filter(pk=tweet_id).first()
        if tweet is not None and tweet.published_at is not None and scheduled:
            cold_due = lifecycle_due_times(tweet.published_at)[Target.COLD]
            if target == Target.COLD and timezone.now() < cold_due:
                return cold_due
            if target == Target.WARM and timezone.now() >= cold_due:
                target = Target.COLD
        if tweet is None or tweet.published_at is None or TIER_RANK[tweet.tier] >= TIER_RANK[target]:
            _queue_next(tweet_id=tweet_id, tweet=tweet)
            return "noop"
        edit_closed = tweet.published_at + timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)
        if timezone.now() < edit_closed:
            return edit_closed
        if tweet.tier == Tier.HOT and target == Target.WARM:
            tweet_archive_warm(tweet=tweet)
            tweet_slim_warm(tweet=tweet)
        elif tweet.tier == Tier.HOT:
            # Overdue for cold while still hot (a backlog, or seeded data): one
            # archive object, written once, both slimming steps in this
            # transaction, and one tier_changed event (hot → cold is one move).
            tweet_archive_cold(tweet=tweet, document=archive_document_build(tweet))
            tweet_slim_warm(tweet=tweet, event=False)
            tweet_slim_cold(tweet=tweet, release_warm=False)
        else:
            tweet_archive_cold(tweet=tweet)
            tweet_slim_cold(tweet=tweet)
        _queue_next(tweet_id=tweet_id, tweet=tweet)
    return "migrated"


# --- the steps (public so tests can stop between them, as a crash would) ------------------
def archive_document_build(tweet: Tweet) -> dict:
    """Everything a hot tweet's row, versions and content say, as archive JSON."""
    content = TweetContent.objects.get(pk=tweet.content_id) if tweet.content_id else None
    username = tweet.author.username
    record = tweet_record_build(
        tweet, username=username, text=content.text if content else "", media_ids=list(tweet.media_ids)
    )
    versions = [
        version_render(v.version, v.content.text if v.content else "", v.content_id, v.media_ids, v.created_at)
        for v in TweetVersion.objects.filter(tweet_id=tweet.id).select_related("content").order_by("version")
    ]
    return {
        "tweet_id": tweet.id,
        "record": record,
        "versions": versions,
        "version_authors": {
            str(v): a for v, a in TweetVersion.objects.filter(tweet_id=tweet.id).values_list("version", "created_by_id")
        },
        "hashtags": sorted(TweetHashtag.objects.filter(tweet_id=tweet.id).values_list("tag", flat=True)),
        "history": history_rows_encode(list(_history_rows(tweet.id))),
        "archived_at": timezone.now().isoformat(),
    }


def _history_rows(tweet_id: int):
    return Tweet.history.filter(id=tweet_id).order_by("history_date", "history_id")


def _history_merge(document: dict, tweet_id: int) -> None:
    """Add the history rows still in PostgreSQL (written after the last move,
    e.g. a moderator removing a warm tweet) to the document's archived ones."""
    archived = {item["history_id"]: item for item in document.get("history", [])}
    for item in history_rows_encode(list(_history_rows(tweet_id))):
        archived[item["history_id"]] = item
    document["history"] = sorted(archived.values(), key=lambda item: (item["history_date"], item["history_id"]))


def _history_release(tweet_id: int) -> None:
    """Delete the tweet's history rows from PostgreSQL: the archive written
    just before (in this transaction, under the row lock) holds every one.
    History rows are only written by save() of the tweet row, which waits for
    our lock, so none can appear between the archive write and this delete."""
    Tweet.history.filter(id=tweet_id).delete()


def tweet_archive_warm(*, tweet: Tweet) -> str:
    """Step 1 of hot → warm: write the archive object; the row is untouched."""
    return archive_write(key=archive_key(tweet.id, Tier.WARM), document=archive_document_build(tweet))


def tweet_slim_warm(*, tweet: Tweet, event: bool = True) -> None:
    """Step 2 of hot → warm (call with the row locked, inside a transaction):
    keep what search, ranking and timelines need; drop what the archive holds.

    The archive ref is the tier itself: the object's key derives from the id
    and the tier (lifecycle.archive.tweet_archive_key), so the row stores no
    key. `event=False`: a hot → cold move records its one event in the cold step."""
    hashes = {tweet.content_id, *TweetVersion.objects.filter(tweet_id=tweet.id).values_list("content_id", flat=True)}
    fields = {"tier": Tier.WARM, "archive_key": "", "content": None, "media_ids": []}
    if connection.vendor == "postgresql":
        # Search only ever asks plain (AND) queries: the positions are dead weight.
        fields["search_vector"] = Func(F("search_vector"), function="strip")
    # A plain UPDATE, not save(): the audit trail of this system move is the
    # outbox event below; a history row per tweet per move would cost more
    # than the move saves.
    Tweet.objects.filter(pk=tweet.id).update(**fields)
    TweetVersion.objects.filter(tweet_id=tweet.id).delete()
    _history_release(tweet.id)
    contents_release(hashes=hashes)
    tweet.tier, tweet.archive_key, tweet.content, tweet.media_ids = Tier.WARM, "", None, []
    if event:
        # No data: the feed shows none of it (type, ids, version and time say
        # all a consumer needs; the new tier is on the tweet), and the event is
        # a row per tweet per move until the outbox retention drops it.
        event_record(type=EventType.TIER_CHANGED, tweet=tweet)
    _invalidate_after_commit(tweet.id)


def tweet_archive_cold(*, tweet: Tweet, document: dict | None = None) -> str:
    """Step 1 of warm → cold: the warm document (read from the store unless
    given) plus the final counts, as a new object."""
    document = dict(document) if document is not None else archive_read(tweet_archive_key(tweet))
    document.pop("format", None)
    _history_merge(document, tweet.id)
    document["final_metrics"] = metrics_for_many([tweet.id]).get(tweet.id)
    document["cold_at"] = timezone.now().isoformat()
    return archive_write(key=archive_key(tweet.id, Tier.COLD), document=document)


def tweet_slim_cold(*, tweet: Tweet, release_warm: bool = True) -> None:
    """Step 2 of warm → cold (row locked, inside a transaction): the row becomes a stub.

    Kept: id, author, created_at, published_at (timeline order), tier (the
    archive ref: the key derives from it), state "archived", the moderation
    columns, and in_reply_to_id / quote_of_id (NULL for most tweets, and what
    un-counts a removed reply on its parent). Dropped besides the content:
    the hashtag rows, the engagement vector (similarity covers hot and warm
    only) and the flushed counter sum (engagement.lifecycle: the counter
    slots stay, the final counts are in the archive). `release_warm=False`: a hot → cold move wrote no warm object."""
    old_key = tweet_archive_key(tweet) if release_warm else ""
    key = archive_key(tweet.id, Tier.COLD)
    Tweet.objects.filter(pk=tweet.id).update(
        tier=Tier.COLD,
        state=TweetState.ARCHIVED,
        archive_key="",
        search_vector=None,
        edited_at=None,
        published_version=None,
        content=None,
        media_ids=[],
    )
    TweetHashtag.objects.filter(tweet_id=tweet.id).delete()
    engagement_vector_release(tweet_id=tweet.id)
    tweet_counters_release(tweet_id=tweet.id)
    _history_release(tweet.id)
    tweet.tier, tweet.state, tweet.archive_key = Tier.COLD, TweetState.ARCHIVED, ""
    event_record(type=EventType.TIER_CHANGED, tweet=tweet)
    _invalidate_after_commit(tweet.id)
    if old_key and old_key != key:
        transaction.on_commit(lambda: archive_delete(old_key))


def contents_release(*, hashes: set[str | None]) -> int:
    """Delete the content rows among `hashes` that no tweet or version uses any more."""
    hashes = {h for h in hashes if h}
    if not hashes:
        return 0
    unused = (
        TweetContent.objects.filter(hash__in=hashes)
        .exclude(Exists(Tweet.objects.filter(content_id=OuterRef("hash"))))
        .exclude(Exists(TweetVersion.objects.filter(content_id=OuterRef("hash"))))
    )
    try:
        # A tweet posting the same text right now may reference the row between
        # our check and our DELETE; PROTECT then refuses the delete. Keeping the
        # row is the right outcome, so only this savepoint rolls back.
        with transaction.atomic():
            deleted, _ = unused.delete()
    except IntegrityError:
        return 0
    return deleted


def _invalidate_after_commit(tweet_id: int) -> None:
    transaction.on_commit(lambda: tweet_cache.tweet_cache_delete(tweet_id))
