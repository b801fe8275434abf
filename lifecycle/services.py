"""Write side of the lifecycle (SPEC section 7): batch moves hot → warm → cold
into archive segments, the orphan sweeper, erasure and compaction.

A move, and why a crash anywhere in it loses nothing and moves nothing twice:

1. One transaction opens and claims a batch: `tweets.tiering.tier_due_claim`
   locks up to NEXUS_LIFECYCLE_BATCH_SIZE due rows of the source tier (FOR NO
   KEY UPDATE SKIP LOCKED over the tier's due index), so concurrent movers
   take disjoint batches.
2. The batch's archive rows are gathered (hot: the rows, versions, history,
   hashtags; warm: the warm segments' rows plus history written since) and
   written as ONE Parquet segment under a fresh key, then read back and
   verified.
3. In the same transaction: the catalog row of the segment, the warm
   segments' live counts, then the tweets app's set-based slimming of the
   whole batch with its outbox events (`tier_move_apply`), engagement's and
   analytics' releases, erasure requests for tweets already gone. COMMIT.

A crash before the COMMIT (the worker killed, the machine gone) aborts the
transaction in PostgreSQL: the rows are as they were and their locks are
released at once, so the next mover (beat starts one every interval) claims
them again — no lease to wait out. The segment written in step 2 has no
catalog row: an orphan, deleted by `segments_sweep`. A crash after the COMMIT
leaves nothing to redo. The COMMIT itself is atomic."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analytics.services import engagement_vectors_release, engagement_vectors_to_warm
from engagement.lifecycle import tweets_counters_release
from engagement.selectors import metrics_for_many
from lifecycle import segments
from lifecycle.archive import archive_key, archive_read, legacy_row
from lifecycle.models import MoveLog, OutboxCursor, Segment, SegmentErasure
from lifecycle.selectors import archived_rows_get, due_cutoffs, segments_locate
from tweets import tiering
from tweets.models import EventType, Tier, Tweet
from tweets.outbox import events_after

logger = logging.getLogger(__name__)

# (source, target) in the order a run takes them: a hot tweet already past its
# cold time goes straight to cold (one segment, one event), not through warm.
MOVES = ((Tier.HOT, Tier.COLD), (Tier.HOT, Tier.WARM), (Tier.WARM, Tier.COLD))


class SegmentTooOld(RuntimeError):
    """The move took so long after its upload that the sweeper may treat the
    segment as an orphan: the move rolls back instead of committing."""


def _checkpoint(stage: str) -> None:
    """A named point of a move ("uploaded", "applied"): nothing happens here.
    The crash tests replace it in a child process to kill it at that point."""


# --- one batch ----------------------------------------------------------------------------
def _archive_rows(tweet_ids: list[int], *, source: str, target: str) -> list[dict]:
    """The segment rows of a claimed batch (the rows are locked by the claim)."""
    now = timezone.now()
    if source == Tier.HOT:
        rows = tiering.tier_hot_rows(tweet_ids=tweet_ids)
    else:
        tweets = tiering.tier_rows(tweet_ids=tweet_ids)
        found = archived_rows_get(tweets)
        gone = tiering.tier_gone_ids(tweet_ids=[t.id for t in tweets if t.id not in found])
        missing = [t.id for t in tweets if t.id not in found and t.id not in gone]
        if missing:
            # Never move a visible tweet whose archive cannot be read: abort the batch.
            raise RuntimeError(f"warm archive rows not found for {len(missing)} tweets, e.g. {missing[:5]}")
        # Erased (deleted or removed, compacted away): the stub goes cold, no row.
        later_history = tiering.tier_history_rows(tweet_ids=list(found))
        rows = []
        for tweet_id, row in found.items():
            row = dict(row)
            if later_history.get(tweet_id):
                merged = {h["history_id"]: h for h in _history_items(row)}
                merged.update({h["history_id"]: h for h in later_history[tweet_id]})
                row["history"] = segments.history_encode(
                    sorted(merged.values(), key=lambda h: (h["history_date"], h["history_id"]))
                )
            rows.append(row)
    if target == Tier.COLD:
        metrics = metrics_for_many([row["id"] for row in rows])
        for row in rows:
            counts = metrics.get(row["id"]) or {}
            for name in segments.METRICS:
                row[name] = int(counts.get(name, 0))
    for row in rows:
        row["archived_at"] = now
    return rows


def _history_items(row: dict) -> list[dict]:
    return json.loads(row["history"]) if row.get("history") else []


def _segment_store(rows: list[dict], *, tier: str) -> tuple[str, int, int]:
    """Write the rows as one segment and verify it: (key, bytes, row groups)."""
    ids = sorted(row["id"] for row in rows)
    key = segments.segment_key(tier=tier, min_id=ids[0], max_id=ids[-1])
    blob = segments.segment_encode(rows, tier=tier)
    segments.segment_put(key=key, blob=blob)
    try:
        size = segments.segment_verify(key, ids=ids)
    except Exception:
        segments.segment_delete(key)
        raise
    groups = -(-len(ids) // settings.NEXUS_SEGMENT_ROW_GROUP_ROWS)
    return key, size, groups


def _catalog_add(*, key: str, tier: str, ids: list[int], size: int, groups: int) -> Segment:
    return Segment.objects.create(
        tier=tier,
        key=key,
        min_id=min(ids),
        max_id=max(ids),
        row_count=len(ids),
        live_rows=len(ids),
        row_groups=groups,
        bytes=size,
    )


def _catalog_release(tweet_ids: list[int], *, tier: str) -> None:
    """Rows of these tweets left segments of `tier` (moved on, or erased):
    lower those segments' live counts (compaction drops dead segments). A
    tweet whose id lies in the ranges of several segments (batches of
    concurrent movers interleave ids) is counted against the one whose id
    column holds it, read from the store: a guess would take a count from a
    segment that still has that many live rows, and a segment counted dead
    too early would be dropped with live tweets in it."""
    located = segments_locate([(tweet_id, tier) for tweet_id in tweet_ids])
    per_segment: dict[int, int] = {}
    ambiguous: dict[int, tuple[Segment, set[int]]] = {}
    for tweet_id, candidates in located.items():
        if len(candidates) == 1:
            per_segment[candidates[0].pk] = per_segment.get(candidates[0].pk, 0) + 1
            continue
        for segment in candidates:
            ambiguous.setdefault(segment.pk, (segment, set()))[1].add(tweet_id)
    for segment, ids in ambiguous.values():
        held = segments.segment_read(segment.key, ids, size=segment.bytes, columns=["id"])
        if held:
            per_segment[segment.pk] = per_segment.get(segment.pk, 0) + len(held)
    for segment_id, count in sorted(per_segment.items()):  # primary-key order: no deadlock between movers
        Segment.objects.filter(pk=segment_id).update(live_rows=F("live_rows") - count)


def lifecycle_batch_move(*, source: str, target: str, limit: int | None = None, now: datetime | None = None) -> int:
    """Move one batch of due tweets from `source` to `target` as one segment
    (module docstring: the steps and the crash guarantees). Returns how many
    tweets moved (0: nothing due)."""
    cutoff = due_cutoffs(now)[target]
    with transaction.atomic():
        ids = tiering.tier_due_claim(
            tier=source, published_before=cutoff, limit=limit or settings.NEXUS_LIFECYCLE_BATCH_SIZE
        )
        return _move_claimed(ids, source=source, target=target) if ids else 0


def _move_claimed(ids: list[int], *, source: str, target: str) -> int:
    """Steps 2 and 3 of a move, for rows the caller's transaction has locked."""
    started = time.monotonic()
    key = None
    try:
        rows = _archive_rows(ids, source=source, target=target)
        if rows:
            key, size, groups = _segment_store(rows, tier=target)
            _catalog_add(key=key, tier=target, ids=[row["id"] for row in rows], size=size, groups=groups)
        uploaded = time.monotonic()
        _checkpoint("uploaded")
        if source == Tier.WARM:
            _catalog_release(ids, tier=Tier.WARM)
        # The warm row keeps its engagement vector as a key (analytics), taken
        # from the hot vector or the flushed sums before the sums row goes, and
        # written by the move's own UPDATE. New engagement flushes both back.
        keys = engagement_vectors_to_warm(tweet_ids=ids) if target == Tier.WARM else None
        tiering.tier_move_apply(tweet_ids=ids, source=source, target=target, engagement_keys=keys)
        tweets_counters_release(tweet_ids=ids)
        if target == Tier.COLD:
            engagement_vectors_release(tweet_ids=ids)
        gone = tiering.tier_gone_ids(tweet_ids=[row["id"] for row in rows])
        if gone:
            erasure_request(tweet_ids=sorted(gone))
        MoveLog.objects.create(
            source=source, target=target, tweets=len(ids), seconds=round(time.monotonic() - started, 3)
        )
        _checkpoint("applied")
        if time.monotonic() - uploaded > settings.NEXUS_SEGMENT_ORPHAN_SECONDS / 2:
            raise SegmentTooOld(f"segment {key} uploaded too long ago to commit")
    except BaseException:
        if key is not None:
            try:
                segments.segment_delete(key)
            except Exception:  # the sweeper deletes it later
                logger.warning("lifecycle: could not delete the segment %s of a failed move", key)
        raise
    return len(ids)


def lifecycle_run_due(
    *, batch_size: int | None = None, progress: Callable[[int], None] | None = None, deadline: float | None = None
) -> dict[str, int]:
    """Move everything due now, batch after batch (`lifecycle_run`, and each
    beat-started worker task until `deadline`, a time.monotonic() value).
    Returns {"migrated": n} (empty when nothing was due)."""
    started = timezone.now()  # bounds the run: what becomes due meanwhile waits for the next one
    totals: dict[str, int] = {}
    for source, target in MOVES:
        while deadline is None or time.monotonic() < deadline:
            moved = lifecycle_batch_move(source=source, target=target, limit=batch_size, now=started)
            if not moved:
                break
            totals["migrated"] = totals.get("migrated", 0) + moved
            if progress is not None:
                progress(moved)
    return totals


def tweet_migrate(*, tweet_id: int, target: str) -> str:
    """Move one tweet to `target` now, whatever its age (tests, tools): a
    batch of one. Returns "migrated" or "noop" (already there, or a draft)."""
    rank = {Tier.HOT: 0, Tier.WARM: 1, Tier.COLD: 2}
    with transaction.atomic():
        tweet = (
            Tweet.objects.select_for_update(no_key=True)
            .filter(pk=tweet_id, published_at__isnull=False)
            .only("tier")
            .first()
        )
        if tweet is None or rank[tweet.tier] >= rank[target]:
            return "noop"
        _move_claimed([tweet_id], source=tweet.tier, target=target)
    return "migrated"


# --- orphans ------------------------------------------------------------------------------
def segments_sweep(*, grace_seconds: int | None = None, now: datetime | None = None) -> int:
    """Delete segment objects that no catalog row names and that are older
    than the grace period (a move that died before committing, a compaction
    that died before deleting what it replaced). A move never commits more
    than half the grace after its upload (SegmentTooOld), so a live move's
    object is never taken. Returns how many objects were deleted."""
    grace = settings.NEXUS_SEGMENT_ORPHAN_SECONDS if grace_seconds is None else grace_seconds
    cutoff = (now or timezone.now()) - timedelta(seconds=grace)
    candidates = [key for key, _size, modified in segments.segment_objects() if modified <= cutoff]
    known: set[str] = set()
    for start in range(0, len(candidates), 1000):
        known |= set(Segment.objects.filter(key__in=candidates[start : start + 1000]).values_list("key", flat=True))
    deleted = 0
    for key in candidates:
        if key not in known:
            segments.segment_delete(key)
            deleted += 1
            logger.info("lifecycle: deleted orphan segment %s", key)
    return deleted


# --- erasure and compaction ---------------------------------------------------------------
ERASURE_CURSOR = "erasure"
ERASURE_EVENTS = {EventType.DELETED.value, EventType.REMOVED.value}


def erasure_request(*, tweet_ids: list[int], now: datetime | None = None) -> None:
    """Queue the archived bytes of these (deleted or removed) tweets for erasure."""
    now = now or timezone.now()
    due = now + timedelta(hours=settings.NEXUS_ERASURE_HOURS) - _erasure_slack()
    SegmentErasure.objects.bulk_create(
        [SegmentErasure(tweet_id=i, requested_at=now, due_at=max(now, due)) for i in tweet_ids],
        ignore_conflicts=True,
    )


def _erasure_slack() -> timedelta:
    """Compaction runs every 15 minutes: erasures are made due early enough
    that the run after the due time still lands inside the promised window."""
    return timedelta(minutes=30)


def erasure_collect(*, batch: int = 1000) -> int:
    """Read the outbox's tweet.deleted / tweet.removed events since the last
    run and queue erasure for the tweets among them that are archived.
    Returns how many were queued."""
    cursor_row, _ = OutboxCursor.objects.get_or_create(name=ERASURE_CURSOR)
    queued = 0
    cursor = cursor_row.cursor or None
    while True:
        events, next_cursor = events_after(after=cursor, limit=batch)
        ids = sorted({int(e["tweet_id"]) for e in events if e["type"] in ERASURE_EVENTS})
        if ids:
            archived = list(Tweet.objects.filter(pk__in=ids).exclude(tier=Tier.HOT).values_list("id", flat=True))
            erasure_request(tweet_ids=archived)
            queued += len(archived)
        if next_cursor and next_cursor != cursor:
            OutboxCursor.objects.filter(name=ERASURE_CURSOR).update(cursor=next_cursor)
        cursor = next_cursor
        if len(events) < batch:
            return queued


def _segment_rewrite(segment: Segment, *, drop: set[int], merge: list[Segment] | None = None) -> Segment | None:
    """Replace `segment` (and `merge`) by one segment holding their live rows
    minus `drop`: written and verified first, then the catalog swapped in one
    transaction, then the old objects deleted. A crash between leaves an
    orphan for the sweeper; never a catalog row without its object."""
    olds = [segment, *(merge or [])]
    rows: list[dict] = []
    for old in olds:
        rows += segments.segment_read_all(old.key)
    # Keep the rows whose tweets are still in this tier: the rest moved on.
    in_tier = set(Tweet.objects.filter(pk__in=[r["id"] for r in rows], tier=segment.tier).values_list("id", flat=True))
    keep = [r for r in rows if r["id"] in in_tier and r["id"] not in drop]
    new = None
    key = None
    if keep:
        key, size, groups = _segment_store(keep, tier=segment.tier)
    try:
        with transaction.atomic():
            locked = list(Segment.objects.select_for_update().filter(pk__in=[o.pk for o in olds]).order_by("pk"))
            if len(locked) != len(olds):
                raise RuntimeError("segment replaced concurrently")
            if keep:
                new = _catalog_add(key=key, tier=segment.tier, ids=[r["id"] for r in keep], size=size, groups=groups)
            Segment.objects.filter(pk__in=[o.pk for o in olds]).delete()
            SegmentErasure.objects.filter(tweet_id__in=drop).delete()
            for old in olds:
                transaction.on_commit(lambda k=old.key: segments.segment_delete(k))
    except BaseException:
        if key is not None:
            segments.segment_delete(key)
        raise
    return new


def segments_erase_due(*, now: datetime | None = None) -> int:
    """Rewrite every segment holding a tweet whose erasure is due, without
    the tweets still deleted or removed (a tweet restored meanwhile stays).
    Returns how many tweets' rows were erased."""
    now = now or timezone.now()
    due = list(SegmentErasure.objects.filter(due_at__lte=now).values_list("tweet_id", flat=True)[:10_000])
    if not due:
        return 0
    tiers = dict(Tweet.objects.filter(pk__in=due).values_list("id", "tier"))
    gone = tiering.tier_gone_ids(tweet_ids=due)
    restored = [i for i in due if i not in gone or tiers.get(i, Tier.HOT) == Tier.HOT]
    SegmentErasure.objects.filter(tweet_id__in=restored).delete()
    to_erase = [i for i in due if i in gone and tiers.get(i) in (Tier.WARM, Tier.COLD)]
    by_segment: dict[int, tuple[Segment, set[int]]] = {}
    located = segments_locate([(i, tiers[i]) for i in to_erase])
    erased = 0
    for tweet_id, candidates in located.items():
        if not candidates:
            SegmentErasure.objects.filter(tweet_id=tweet_id).delete()  # in no segment: nothing left to erase
            continue
        for candidate in candidates:
            by_segment.setdefault(candidate.pk, (candidate, set()))[1].add(tweet_id)
    for segment, ids in by_segment.values():
        _segment_rewrite(segment, drop=ids)
        erased += len(ids)
    # A tweet erased from a warm segment may still sit in an older legacy object.
    for tweet_id in to_erase:
        segments_legacy_delete(tweet_id)
    return erased


def segments_legacy_delete(tweet_id: int) -> None:
    for tier in (Tier.WARM, Tier.COLD):
        try:
            default_storage.delete(archive_key(tweet_id, tier))
        except Exception:  # nothing there, or the store is down: the object costs bytes, not privacy of others
            logger.warning("lifecycle: could not delete legacy archive object of %s", tweet_id)


def segments_compact(*, now: datetime | None = None) -> dict[str, int]:
    """Drop segments none of whose rows are live any more (warm segments whose
    tweets all went cold), rewrite segments with under half their rows live,
    and merge neighbouring small segments of a tier up to the batch size."""
    dropped = rewritten = merged = 0
    for segment in Segment.objects.filter(live_rows__lte=0).order_by("pk"):
        # Rewritten, not deleted on its count alone: the rewrite keeps any row
        # whose tweet is still in the tier (none, when the count is right).
        if _segment_rewrite(segment, drop=set()) is None:
            dropped += 1
    for segment in Segment.objects.filter(live_rows__gt=0, live_rows__lt=F("row_count") / 2).order_by("pk")[:100]:
        _segment_rewrite(segment, drop=set())
        rewritten += 1
    target = settings.NEXUS_LIFECYCLE_BATCH_SIZE
    for tier in (Tier.WARM, Tier.COLD):
        small = list(
            Segment.objects.filter(tier=tier, row_count__lt=settings.NEXUS_SEGMENT_MIN_ROWS).order_by("min_id")
        )
        group: list[Segment] = []
        for segment in small + [None]:
            if segment is not None and sum(s.row_count for s in group) + segment.row_count <= target:
                group.append(segment)
                continue
            if len(group) > 1:
                _segment_rewrite(group[0], drop=set(), merge=group[1:])
                merged += len(group)
            group = [segment] if segment is not None else []
    MoveLog.objects.filter(at__lt=(now or timezone.now()) - timedelta(days=1)).delete()
    return {"dropped": dropped, "rewritten": rewritten, "merged": merged}


# --- upgrade from the per-tweet format -------------------------------------------------------
def legacy_repack(*, keys_by_id: dict[int, str]) -> int:
    """Repack per-tweet archive objects (format 1: one zstd JSON per tweet)
    into one segment per tier: written and verified, catalogued in one
    transaction, then the old objects deleted. Tweets already in a segment
    of their tier, or no longer archived in that tier, are skipped (and
    their stale objects deleted). Returns how many tweets were repacked."""
    tiers = dict(Tweet.objects.filter(pk__in=list(keys_by_id)).values_list("id", "tier"))
    located = segments_locate([(i, t) for i, t in tiers.items() if t != Tier.HOT])
    rows_by_tier: dict[str, list[dict]] = {}
    stale: list[str] = []
    for tweet_id, key in keys_by_id.items():
        tier = tiers.get(tweet_id)
        if tier is None or tier == Tier.HOT or located.get(tweet_id) or not key.endswith(f".{tier}.json.zst"):
            stale.append(key)
            continue
        row = legacy_row(archive_read(key))
        row["archived_at"] = timezone.now()
        rows_by_tier.setdefault(tier, []).append(row)
    repacked = 0
    for tier, rows in rows_by_tier.items():
        key, size, groups = _segment_store(rows, tier=tier)
        try:
            with transaction.atomic():
                _catalog_add(key=key, tier=tier, ids=[r["id"] for r in rows], size=size, groups=groups)
        except BaseException:
            segments.segment_delete(key)
            raise
        repacked += len(rows)
        stale += [keys_by_id[r["id"]] for r in rows]
    for key in stale:
        default_storage.delete(key)
    return repacked
