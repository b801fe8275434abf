"""Write side of analytics: hashtag use counts and engagement vectors.

Hashtag counts: a rollup table, updated in the tweet's own transaction
----------------------------------------------------------------------
`hashtag_uses_changed` is called by tweets.services inside the transaction
that writes the tweet's TweetHashtag rows. It upserts one HashtagHour row
(tag, hour of publication) and one HashtagStat row per changed tag with
`INSERT … ON CONFLICT DO UPDATE SET uses = uses + delta` (PostgreSQL and
SQLite both speak it). Chosen over Redis hourly buckets flushed to a rollup:

- Exact: the count commits or rolls back with the tweet, so a failed create
  never counts, an edit that drops a tag uncounts it in the same commit, and
  nothing is lost when Redis is wiped (a Redis bucket between INCR and flush
  would be, and an INCR after commit can be lost to a crash).
- Contention: a viral tag's (tag, current hour) row and its HashtagStat row
  are hot rows; each tweet using the tag holds their row locks from the
  upsert until its transaction commits (a few ms: the tweet's write path is
  short and does no I/O after this call). That serialises commits per tag to
  a few hundred per second, well above the 100 tweets/s bar. Locks are taken
  in tag order (hours first, then stats) so two tweets sharing tags cannot
  deadlock. If one tag ever needs more, shard the row (tag, hour, shard) with
  a random shard per upsert and SUM on read; the read side is unchanged.

Counts are clamped at 0: a tweet written before this app was deployed (and
before `analytics_backfill`) may be uncounted without ever having counted.
A tweet that goes cold stays counted (it still carries the tag); the
lifecycle drops its TweetHashtag rows, so deleting a cold tweet cannot
uncount it (the tweets app finds no tags to remove) — a known gap.

Engagement vectors
------------------
The engagement vector of a published hot or warm tweet: ln(1 + count) for
likes, retweets, replies, quotes, views (a viral tweet's 10⁶ views must not
dwarf everything else). Values come from the counter flush
(`engagement_vectors_update`, called inside the flush transaction with the
freshly summed counts). Membership comes from the outbox feed
(`engagement_vectors_sync`, a beat job with a stored cursor): a published tweet
gets its vector, a tweet that is deleted, removed or moves to cold loses it, a
restored one gets it back. The similarity query also filters tier and
visibility through the tweets app (analytics.selectors), so a tweet that just
went away never shows up even before the feed job has run.

Two representations, by tier (SPEC section 7: the warm row keeps only what
ranking and search need, the engagement vector among them):

- hot: one EngagementVector row per tweet, exact, with its own GiST entry. Hot
  vectors change with every flush; a narrow table of their own takes that churn.
- warm: the vector quantised to 1/32 of a unit of ln(1 + count) (about 3% of
  a count; counts up to ~30 stay exact), packed into one integer
  (`engagement_key`: 12 bits per metric, likes first) that the tweet row
  keeps (tweets.Tweet.engagement_key, written through tweets.tiering), plus
  one EngagementPoint row per distinct key with the GiST entry. Measured on
  the 120-day set: a vector row and its GiST entry cost about 250 B per tweet,
  a key in the row and its deduplicated index entry about 20 B; 17,952 seed
  vectors have 1,222 distinct values. The warm move converts (`engagement_vectors_to_warm`).
  Points no warm tweet carries any more are pruned by the sync job, under an
  advisory lock that writers of keys share, so a point is never pruned
  between a writer's insert of it and the commit of the key that uses it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from analytics.models import EngagementPoint, EngagementVector, FeedCursor, HashtagHour, HashtagStat
from engagement.counters import counts_get_many
from engagement.models import METRICS, TweetCounters
from tweets import tiering
from tweets.models import EventType, Tier, Tweet, TweetHashtag, warm_engagement_key_used_sql
from tweets.outbox import events_after

# HashtagHour rows older than this are pruned (per_hour needs 24 h, trending 26 h).
HASHTAG_HOURS_KEPT = 8 * 24
VECTOR_FEED = "engagement_vectors"
FEED_BATCH = 1000
FEED_MAX_BATCHES = 20
# Warm vectors: steps per unit of ln(1 + count), bits per metric (12 bits: up to ln(1 + count) = 128).
KEY_SCALE = 32
KEY_BITS = 12
KEY_MAX = (1 << KEY_BITS) - 1
# pg_advisory_xact_lock key: writers of warm keys share it, the point pruner takes it alone.
POINTS_LOCK = 0x4E58_454E_4750  # "NXENGP"


def hour_of(at: datetime) -> int:
    """The hour bucket of a moment: unix time // 3600."""
    return int(at.timestamp()) // 3600


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


# --- hashtags ----------------------------------------------------------------------------
# The two upserts of hashtag_uses_changed as PostgreSQL CTEs reading (tag,
# delta) rows from the CTE named {source}, so a caller can count inside its
# own statement (the tweets app's one-statement create). Rows in tag order:
# the lock order, so concurrent writers cannot deadlock.
HASHTAG_USES_CTES = """
hashtag_hourly AS (
    INSERT INTO analytics_hashtaghour (tag, hour, uses)
    SELECT tag, %(hashtag_hour)s, GREATEST(delta, 0) FROM {source} ORDER BY tag
    ON CONFLICT (tag, hour) DO UPDATE SET uses = GREATEST(analytics_hashtaghour.uses + excluded.uses
        + (SELECT LEAST(c.delta, 0) FROM {source} c WHERE c.tag = excluded.tag), 0)
), hashtag_stat AS (
    INSERT INTO analytics_hashtagstat (tag, tweets, last_used_at)
    SELECT tag, GREATEST(delta, 0), %(hashtag_at)s FROM {source} ORDER BY tag
    ON CONFLICT (tag) DO UPDATE SET
        tweets = GREATEST(analytics_hashtagstat.tweets + excluded.tweets
            + (SELECT LEAST(c.delta, 0) FROM {source} c WHERE c.tag = excluded.tag), 0),
        last_used_at = CASE WHEN excluded.tweets > 0
            THEN GREATEST(analytics_hashtagstat.last_used_at, excluded.last_used_at)
            ELSE analytics_hashtagstat.last_used_at END
)"""


def hashtag_uses_ctes(*, source: str, at: datetime) -> tuple[str, dict]:
    """SQL (CTEs, no WITH) and parameters counting the (tag, delta) rows of the
    CTE `source` for the hour of `at`, for a caller's own PostgreSQL statement."""
    return HASHTAG_USES_CTES.format(source=source), {"hashtag_hour": hour_of(at), "hashtag_at": at}


HASHTAG_USES_SQL = (
    "WITH change AS (SELECT * FROM unnest(%(tags)s::varchar[], %(deltas)s::integer[]) AS c (tag, delta)), "
    + HASHTAG_USES_CTES.format(source="change")
    + " SELECT 1"
)


def hashtag_uses_changed(*, added: list[str], removed: list[str], at: datetime) -> None:
    """Count `added` tags and uncount `removed` ones for the hour of `at` (the
    tweet's publication). Call inside the tweet's transaction (module docstring)."""
    deltas = {tag: 1 for tag in added}
    for tag in removed:
        deltas[tag] = deltas.get(tag, 0) - 1
    rows = sorted((tag, d) for tag, d in deltas.items() if d)  # tag order = lock order
    if not rows:
        return
    if connection.vendor == "postgresql":
        # One round trip: this runs inside every post with a tag.
        with connection.cursor() as cursor:
            params = {"tags": [t for t, _ in rows], "deltas": [d for _, d in rows]}
            cursor.execute(HASHTAG_USES_SQL, {**params, **hashtag_uses_ctes(source="change", at=at)[1]})
        return
    hour = hour_of(at)
    hours, stats = HashtagHour._meta.db_table, HashtagStat._meta.db_table
    greatest = _greatest()
    used_at = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {hours} (tag, hour, uses) VALUES (%s, %s, %s) "
            f"ON CONFLICT (tag, hour) DO UPDATE SET uses = {greatest}({hours}.uses + %s, 0)",
            [(tag, hour, max(d, 0), d) for tag, d in rows],
        )
        # last_used_at only moves forward, and only when the tag is used.
        cursor.executemany(
            f"INSERT INTO {stats} (tag, tweets, last_used_at) VALUES (%s, %s, %s) "
            f"ON CONFLICT (tag) DO UPDATE SET tweets = {greatest}({stats}.tweets + %s, 0), "
            f"last_used_at = CASE WHEN %s > 0 THEN {greatest}({stats}.last_used_at, excluded.last_used_at) "
            f"ELSE {stats}.last_used_at END",
            [(tag, max(d, 0), used_at, d, d) for tag, d in rows],
        )


def hashtag_hours_prune(*, now: datetime | None = None) -> int:
    """Drop hourly rows nobody reads any more; returns how many."""
    cutoff = hour_of(now or timezone.now()) - HASHTAG_HOURS_KEPT
    deleted, _ = HashtagHour.objects.filter(hour__lt=cutoff).delete()
    return deleted


# --- engagement vectors ----------------------------------------------------------------------
def engagement_vector(counts: dict) -> dict[str, float]:
    """ln(1 + count) per metric (negative counts, which a CRDT may show
    transiently, count as 0)."""
    return {m: math.log1p(max(0, int(counts.get(m, 0) or 0))) for m in METRICS}


def engagement_key(vector: dict[str, float]) -> int:
    """A warm tweet's vector, quantised and packed (module docstring)."""
    key = 0
    for metric in METRICS:
        key = (key << KEY_BITS) | min(KEY_MAX, max(0, round(vector[metric] * KEY_SCALE)))
    return key


def engagement_point(key: int) -> dict[str, float]:
    """The vector an `engagement_key` stands for."""
    values = {}
    for metric in reversed(METRICS):
        values[metric] = (key & KEY_MAX) / KEY_SCALE
        key >>= KEY_BITS
    return {metric: values[metric] for metric in METRICS}


def _eligible(tweet_ids: Iterable[int]) -> dict[int, str]:
    """Among `tweet_ids`, the published, visible hot and warm tweets and their
    tier: one PK lookup."""
    visible = Tweet.objects.published().filter(pk__in=list(tweet_ids), tier__in=[Tier.HOT, Tier.WARM])
    return dict(visible.values_list("pk", "tier"))


def _points_lock(*, exclusive: bool) -> None:
    if connection.vendor == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [POINTS_LOCK])


def _warm_vectors_write(vectors: dict[int, dict[str, float]]) -> int:
    """Keys of warm tweets (tweet id → vector) and the points they need; call
    inside a transaction. Rows another transaction holds are skipped (module
    docstring of engagement_vectors_update). Returns the rows whose key changed."""
    if not vectors:
        return 0
    keys = {tweet_id: engagement_key(vector) for tweet_id, vector in vectors.items()}
    _points_add(set(keys.values()))
    return tiering.warm_engagement_keys_set(keys=keys)


def _points_add(keys: set[int]) -> None:
    """The points of `keys` (inside the transaction that writes the keys:
    the shared lock keeps the pruner out until it commits)."""
    _points_lock(exclusive=False)
    EngagementPoint.objects.bulk_create(
        [EngagementPoint(key=key, **engagement_point(key)) for key in sorted(keys)], ignore_conflicts=True
    )


def engagement_vectors_update(*, counts: dict[int, dict]) -> int:
    """Write the vectors of eligible tweets among `counts` (tweet id → counts):
    hot ones upserted as rows, warm ones as keys; drop rows of the others.
    Called by the counter flush inside its transaction, under its
    TweetCounters row locks; returns hot rows written plus warm keys changed.
    Warm rows a mover or moderator holds are skipped, not waited for (the
    mover may want the flush's locks next): a tweet going cold loses its key
    anyway, and a removed one gets it back from the feed job when restored."""
    if not counts:
        return 0
    eligible = _eligible(counts)
    hot = sorted(i for i, tier in eligible.items() if tier == Tier.HOT)  # primary-key order: no deadlock
    rows = [EngagementVector(tweet_id=tweet_id, **engagement_vector(counts[tweet_id])) for tweet_id in hot]
    if rows:
        EngagementVector.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["tweet"], update_fields=list(METRICS)
        )
    warm = {i: engagement_vector(counts[i]) for i, tier in eligible.items() if tier == Tier.WARM}
    changed = _warm_vectors_write(warm)
    gone = set(counts) - set(hot)
    if gone:
        EngagementVector.objects.filter(tweet_id__in=gone).delete()
    return len(rows) + changed


def engagement_vectors_on_counts_refreshed(sender, *, counts: dict[int, dict], **kwargs) -> None:
    """Receiver of engagement.signals.counts_refreshed (connected in analytics.apps)."""
    engagement_vectors_update(counts=counts)


def engagement_vectors_to_warm(*, tweet_ids: list[int]) -> dict[int, int]:
    """The warm move's side, in its transaction (the claim holds the rows):
    each tweet's key, from its hot vector row (kept current by every flush)
    or, without one, from its flushed counts, with the points they need; the
    vector rows go. Returns tweet id → key, for the move's own UPDATE of the
    rows (tweets.tiering.tier_move_apply)."""
    if not tweet_ids:
        return {}
    rows = EngagementVector.objects.filter(tweet_id__in=tweet_ids).values("tweet_id", *METRICS)
    vectors = {row.pop("tweet_id"): row for row in rows}
    missing = [i for i in tweet_ids if i not in vectors]
    flushed = {row.tweet_id: row.as_dict() for row in TweetCounters.objects.filter(tweet_id__in=missing)}
    vectors |= {i: engagement_vector(flushed.get(i, {})) for i in missing}
    keys = {tweet_id: engagement_key(vector) for tweet_id, vector in vectors.items()}
    _points_add(set(keys.values()))
    EngagementVector.objects.filter(tweet_id__in=tweet_ids).delete()
    return keys


def engagement_vectors_release(*, tweet_ids: list[int]) -> None:
    """Drop the hot vector rows of a batch, one DELETE (the lifecycle's bulk
    cold move, in its transaction; the cold rows lose their keys in the same
    statement that makes them cold)."""
    if tweet_ids:
        EngagementVector.objects.filter(tweet_id__in=tweet_ids).delete()


def engagement_vectors_membership_sync(*, tweet_ids: set[int]) -> None:
    """Rows for the eligible hot tweets among `tweet_ids` that have none (from
    their flushed counts), keys for the eligible warm ones that have none
    (from their live counts: a warm tweet has no flushed sums row), no row
    for the others. Existing ones are the flush's to keep current."""
    eligible = _eligible(tweet_ids)
    hot = {i for i, tier in eligible.items() if tier == Tier.HOT}
    gone = tweet_ids - hot
    if gone:
        EngagementVector.objects.filter(tweet_id__in=gone).delete()
    warm = [i for i, tier in eligible.items() if tier == Tier.WARM]
    keyless = sorted(Tweet.objects.filter(pk__in=warm, engagement_key__isnull=True).values_list("pk", flat=True))
    if keyless:
        live = counts_get_many(keyless)
        _warm_vectors_write({i: engagement_vector(live.get(i, {})) for i in keyless})
    have = set(EngagementVector.objects.filter(tweet_id__in=hot).values_list("tweet_id", flat=True))
    missing = sorted(hot - have)
    if not missing:
        return
    flushed = {row.tweet_id: row.as_dict() for row in TweetCounters.objects.filter(tweet_id__in=missing)}
    # Insert-only: a concurrent flush writes fresher values, which must win.
    EngagementVector.objects.bulk_create(
        [EngagementVector(tweet_id=i, **engagement_vector(flushed.get(i, {}))) for i in missing],
        ignore_conflicts=True,
    )


def engagement_points_prune() -> int:
    """Delete the points no warm tweet carries (through the tweets app's key
    index, one probe per point); returns how many."""
    table = EngagementPoint._meta.db_table
    with transaction.atomic():
        _points_lock(exclusive=True)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE NOT {warm_engagement_key_used_sql(key_expr=f'{table}.key')}")
            return cursor.rowcount


def engagement_vectors_sync(*, batch: int = FEED_BATCH, max_batches: int = FEED_MAX_BATCHES) -> int:
    """Follow the outbox feed from the stored cursor and fix vector-row
    membership of the tweets it names; returns how many events were read.
    Safe to run twice or concurrently: the cursor row is locked for the run."""

    relevant = {
        EventType.CREATED,
        EventType.PUBLISHED,
        EventType.DELETED,
        EventType.REMOVED,
        EventType.RESTORED,
        EventType.TIER_CHANGED,
    }
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            FeedCursor.objects.get_or_create(name=VECTOR_FEED)
            state = FeedCursor.objects.select_for_update().get(name=VECTOR_FEED)
            events, next_cursor = events_after(after=state.cursor or None, limit=batch)
            ids = {int(e["tweet_id"]) for e in events if e["type"] in relevant}
            if ids:
                engagement_vectors_membership_sync(tweet_ids=ids)
            if events:
                state.cursor, state.updated_at = next_cursor or "", timezone.now()
                state.save(update_fields=["cursor", "updated_at"])
        total += len(events)
        if len(events) < batch:
            break
    return total


def feed_cursor_set(*, name: str, cursor: str) -> None:
    FeedCursor.objects.update_or_create(name=name, defaults={"cursor": cursor, "updated_at": timezone.now()})


def hashtags_rebuild() -> int:
    """Recount every tag from the TweetHashtag rows of visible published tweets
    (one-off backfill, e.g. after bulk seeding that bypassed the services).
    Returns how many tags. Cold tweets no longer have TweetHashtag rows, so
    their uses are not recounted."""

    with transaction.atomic():
        HashtagHour.objects.all().delete()
        HashtagStat.objects.all().delete()
        live = TweetHashtag.objects.filter(tweet__in=_published_tweets())
        stats: dict[str, list] = {}
        hours: dict[tuple[str, int], int] = {}
        for tag, at in live.values_list("tag", "created_at").iterator(chunk_size=10_000):
            entry = stats.setdefault(tag, [0, at])
            entry[0] += 1
            entry[1] = max(entry[1], at)
            key = (tag, hour_of(at))
            hours[key] = hours.get(key, 0) + 1
        HashtagStat.objects.bulk_create(
            [HashtagStat(tag=t, tweets=n, last_used_at=at) for t, (n, at) in stats.items()], batch_size=5000
        )
        HashtagHour.objects.bulk_create(
            [HashtagHour(tag=t, hour=h, uses=n) for (t, h), n in hours.items()], batch_size=5000
        )
    return len(stats)


def _published_tweets():

    return Tweet.objects.published()


def engagement_vectors_rebuild(*, batch: int = 5000) -> int:
    """Write the vector of every published hot/warm tweet from its live
    counts (one-off backfill; a warm tweet has no flushed sums row); returns
    how many were written."""

    written = 0
    ids_qs = _published_tweets().filter(tier__in=[Tier.HOT, Tier.WARM]).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        ids = list(ids_qs.filter(pk__gt=last)[:batch])
        if not ids:
            return written
        last = ids[-1]
        live = counts_get_many(ids)
        with transaction.atomic():
            written += engagement_vectors_update(counts={i: live.get(i, {}) for i in ids})
