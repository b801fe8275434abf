"""Read side of analytics: a hashtag's numbers, trending hashtags, and tweets
with similar engagement.

Trending hashtags
-----------------
Counts are hourly buckets, so "the last hour" at 10:20 is estimated as a
sliding window: the current bucket (20 minutes) plus 2/3 of the previous one
(the usual sliding-window-counter estimate). The day before is the 24 complete
buckets before those two, averaged per hour. The score is growth weighted by
volume:

    score = (last_hour + 1) / (previous_day_hourly_avg + 1) × ln(1 + last_hour)

The +1s keep a brand-new tag finite and stop one stray use from ranking; the
ln factor makes 0 → 50 uses outrank 0 → 2 (same-ish ratio, far more signal)
without letting a steady giant (ratio ≈ 1) crowd out real risers. Candidates
are the TRENDING_CANDIDATES busiest tags of the two window buckets (an index
range on `hour`), then one query reads their previous day; the ranking is
cached for TRENDING_CACHE_SECONDS.

Similar engagement
------------------
Two nearest-first walks, one per representation (analytics.services), merged
by distance:

- hot: `ORDER BY cube(ARRAY[likes, …, views]) <-> cube(ARRAY[...]) LIMIT n`
  over the GiST index on that expression (migration 0003: the cube lives only
  in the index; Index Scan using analytics_engagementvector_vec_gist,
  nearest-first, stops after n rows), then each of those n rows checked by
  primary key against tweets_tweet so only published hot tweets that are not
  deleted or removed come back (n = 2k+10, widened when too few survive).
- warm: the same ordering over the points' GiST index
  (analytics_engagementpoint_gist), then for each point up to k of its
  published warm tweets through the tweets app's index on the key
  (tweet_warm_engagement). A warm tweet's distance is its point's: within
  half a step per metric of its exact vector (about 0.035 at most), and
  tweets of one point tie, broken by id.

SQLite (development only, no kNN index): an honest bounded candidate set —
the SQLITE_CANDIDATES most recent hot vector rows and warm tweets are ranked
by Euclidean distance; a nearer but older tweet outside that set is missed.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Sum, Value
from django.utils import timezone

from analytics.models import EngagementPoint, EngagementVector, HashtagHour, HashtagStat
from analytics.services import METRICS, engagement_point, engagement_vector, hour_of
from nexus.timefmt import format_timestamp
from tweets.models import Tier, Tweet, TweetState, published_join_sql, warm_engagement_lateral_sql
from tweets.text import hashtags_extract

PER_HOUR_BUCKETS = 24
TRENDING_CANDIDATES = 2000
TRENDING_MAX = 100
TRENDING_CACHE_SECONDS = 30
SQLITE_CANDIDATES = 5000
# Bound on the index walk when most nearest rows are stale (see _nearest_postgres).
MAX_KNN_FETCH = 10_000


# --- hashtags ----------------------------------------------------------------------------
def hashtag_normalize(raw: str) -> str | None:
    """The stored form of a tag given with or without its '#', or None when
    `raw` is not exactly one hashtag (the parser tweets use decides)."""
    body = raw[1:] if raw.startswith("#") else raw
    if not body or body.startswith("#"):
        return None
    tags = hashtags_extract("#" + body)
    wanted = unicodedata.normalize("NFC", body.casefold())
    if tags != [wanted]:
        return None
    return wanted


def hashtag_get(*, tag: str, now: datetime | None = None) -> dict | None:
    """Totals and the last 24 hourly counts (oldest first, the current,
    partial hour last) of a normalised tag; None when it was never used."""
    stat = HashtagStat.objects.filter(tag=tag).first()
    if stat is None:
        return None
    current = hour_of(now or timezone.now())
    first = current - PER_HOUR_BUCKETS + 1
    counts = dict(HashtagHour.objects.filter(tag=tag, hour__gte=first, hour__lte=current).values_list("hour", "uses"))
    return {
        "tag": stat.tag,
        "tweets": stat.tweets,
        "last_used_at": format_timestamp(stat.last_used_at),
        "per_hour": [counts.get(h, 0) for h in range(first, current + 1)],
    }


def trending_score(last_hour: float, previous_day_hourly_avg: float) -> float:
    return (last_hour + 1) / (previous_day_hourly_avg + 1) * math.log1p(last_hour)


def hashtags_trending_compute(*, now: datetime | None = None, limit: int = TRENDING_MAX) -> list[dict]:
    """The ranking (module docstring), uncached."""
    now = now or timezone.now()
    current = hour_of(now)
    elapsed = (now.timestamp() - current * 3600) / 3600
    candidates = list(
        HashtagHour.objects.filter(hour__gte=current - 1, hour__lte=current)
        .values("tag")
        .annotate(recent=Sum("uses"))
        .filter(recent__gt=0)
        .order_by("-recent", "tag")
        .values_list("tag", flat=True)[:TRENDING_CANDIDATES]
    )
    if not candidates:
        return []
    per_tag: dict[str, dict[int, int]] = {tag: {} for tag in candidates}
    rows = HashtagHour.objects.filter(tag__in=candidates, hour__gte=current - 25, hour__lte=current)
    for tag, hour, uses in rows.values_list("tag", "hour", "uses"):
        per_tag[tag][hour] = uses
    results = []
    for tag, hours in per_tag.items():
        last_hour = hours.get(current, 0) + hours.get(current - 1, 0) * (1 - elapsed)
        if last_hour <= 0:
            continue
        previous = sum(hours.get(h, 0) for h in range(current - 25, current - 1)) / 24
        results.append(
            {
                "tag": tag,
                "last_hour": round(last_hour, 2),
                "previous_day_hourly_avg": round(previous, 4),
                "score": round(trending_score(last_hour, previous), 4),
            }
        )
    results.sort(key=lambda r: (-r["score"], r["tag"]))
    return results[:limit]


def _trending_cache_key() -> str:
    return "analytics:hashtags:trending"


def hashtags_trending(*, limit: int) -> list[dict]:
    """The ranking, cached briefly (it is the same for every caller)."""
    ranking = cache.get(_trending_cache_key())
    if ranking is None:
        ranking = hashtags_trending_compute(limit=TRENDING_MAX)
        cache.set(_trending_cache_key(), ranking, TRENDING_CACHE_SECONDS)
    return ranking[:limit]


# --- similar engagement ----------------------------------------------------------------------
def _cube(alias: str) -> str:
    """The indexed expression of migration 0003 (the planner matches it to the GiST index)."""
    return "cube(ARRAY[" + ", ".join(f"{alias}.{m}" for m in METRICS) + "])"


# The points' GiST index (migration 0005) holds each point as a box of side
# 1/1024 from it: cube's picksplit compares box volumes, and points on a grid
# with many zero coordinates (most tweets have no replies or quotes) make
# zero-volume boxes, between which it splits pages one entry off (measured:
# 364 points of the 120-day set took 344 KB as points, 64 KB as boxes; 900
# more made 197 KB). A box's `<->` is its nearest corner's distance, within
# 1/1024·√5 of the point's, far inside the 1/32 grid; the distance reported
# is the point's own.
POINT_BOX_SIDE = "0.0009765625"


def _point_box(alias: str) -> str:
    """The indexed expression of migration 0005."""
    far = ", ".join(f"{alias}.{m} + {POINT_BOX_SIDE}" for m in METRICS)
    return "cube(ARRAY[" + ", ".join(f"{alias}.{m}" for m in METRICS) + f"], ARRAY[{far}])"


def similar_sql(*, point: list[float], exclude_id: int, fetch: int) -> tuple[str, list]:
    """The hot kNN query (tests EXPLAIN exactly this): the `fetch` nearest
    vectors straight off the GiST index, then each checked against its tweet
    row by primary key. Returns (tweet_id, distance, visible) nearest first.

    The index walk is a subquery of its own on purpose: with the visibility
    join in the same ORDER BY … LIMIT, the planner may (with stale statistics
    it did, measured) scan tweets_tweet and sort every vector instead."""
    visible_join, visible_params = published_join_sql(alias="t", id_expr="nn.tweet_id", tiers=[Tier.HOT.value])
    vectors = EngagementVector._meta.db_table
    sql = (
        "SELECT nn.tweet_id, nn.distance, t.id IS NOT NULL AS visible FROM ("
        f"SELECT v.tweet_id, {_cube('v')} <-> cube(%s::float8[]) AS distance FROM {vectors} v "
        f"WHERE v.tweet_id <> %s ORDER BY {_cube('v')} <-> cube(%s::float8[]) LIMIT %s"
        f") nn {visible_join} "
        "ORDER BY nn.distance, nn.tweet_id"
    )
    return sql, [point, exclude_id, point, fetch, *visible_params]


def similar_warm_sql(*, point: list[float], exclude_id: int, points: int, limit: int) -> tuple[str, list]:
    """The warm kNN query (tests EXPLAIN exactly this): the `points` nearest
    points off their GiST index, each with up to `limit` of its published warm
    tweets (a NULL tweet id when it has none). Returns (point key, distance,
    tweet id) nearest first."""
    lateral, lateral_params = warm_engagement_lateral_sql(
        alias="w", key_expr="np.key", exclude_id=exclude_id, limit=limit
    )
    table = EngagementPoint._meta.db_table
    sql = (
        "SELECT np.key, np.distance, w.id FROM ("
        f"SELECT p.key, {_cube('p')} <-> cube(%s::float8[]) AS distance FROM {table} p "
        f"ORDER BY {_point_box('p')} <-> cube(%s::float8[]) LIMIT %s"
        f") np {lateral} "
        "ORDER BY np.distance, np.key, w.id"
    )
    return sql, [point, point, points, *lateral_params]


def _nearest_hot(cursor, point: list[float], *, exclude_id: int, limit: int) -> list[tuple[int, float]]:
    """Over-fetch a little (rows of tweets that just went warm, cold or away
    stay in the index until the move or the feed job drops them) and widen
    while too few survive."""
    fetch = limit * 2 + 10
    while True:
        sql, params = similar_sql(point=point, exclude_id=exclude_id, fetch=fetch)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        found = [(int(tweet_id), float(distance)) for tweet_id, distance, ok in rows if ok]
        if len(found) >= limit or len(rows) < fetch or fetch >= MAX_KNN_FETCH:
            return found[:limit]
        fetch = min(fetch * 4, MAX_KNN_FETCH)


def _nearest_warm(cursor, point: list[float], *, exclude_id: int, limit: int) -> list[tuple[int, float]]:
    """Points nearest first until `limit` warm tweets are found or the points
    run out (points no warm tweet carries any more wait for the prune job)."""
    fetch = limit + 10
    while True:
        sql, params = similar_warm_sql(point=point, exclude_id=exclude_id, points=fetch, limit=limit)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        found = [(int(tweet_id), float(distance)) for _, distance, tweet_id in rows if tweet_id is not None]
        if len(found) >= limit or len({key for key, *_ in rows}) < fetch or fetch >= MAX_KNN_FETCH:
            return found[:limit]
        fetch = min(fetch * 4, MAX_KNN_FETCH)


def _nearest_postgres(point: list[float], *, exclude_id: int, limit: int) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        hot = _nearest_hot(cursor, point, exclude_id=exclude_id, limit=limit)
        warm = _nearest_warm(cursor, point, exclude_id=exclude_id, limit=limit)
    return sorted(hot + warm, key=lambda item: (item[1], item[0]))[:limit]


def _distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def _nearest_bounded(point: list[float], *, exclude_id: int, limit: int) -> list[tuple[int, float]]:
    recent = EngagementVector.objects.order_by("-tweet_id").values("tweet_id")[:SQLITE_CANDIDATES]
    squared = sum(
        ((F(m) - Value(p)) * (F(m) - Value(p)) for m, p in zip(METRICS, point, strict=True)),
        start=Value(0.0),
    )
    rows = (
        EngagementVector.objects.filter(tweet_id__in=recent)
        .filter(tweet__tier=Tier.HOT, tweet__deleted_at__isnull=True, tweet__removed_at__isnull=True)
        .exclude(tweet__state=TweetState.DRAFT)
        .exclude(tweet_id=exclude_id)
        .annotate(d2=squared)
        .order_by("d2", "tweet_id")
        .values_list("tweet_id", "d2")[:limit]
    )
    hot = [(tweet_id, math.sqrt(max(0.0, d2))) for tweet_id, d2 in rows]
    warm_keys = (
        Tweet.objects.published()
        .filter(tier=Tier.WARM, engagement_key__isnull=False)
        .exclude(pk=exclude_id)
        .order_by("-pk")
        .values_list("pk", "engagement_key")[:SQLITE_CANDIDATES]
    )
    warm = [(tweet_id, _distance(list(engagement_point(key).values()), point)) for tweet_id, key in warm_keys]
    return sorted(hot + warm, key=lambda item: (item[1], item[0]))[:limit]


def similar_ranked(*, counts: dict, exclude_id: int, limit: int) -> list[tuple[int, float]]:
    """(tweet id, distance) of the published hot/warm tweets whose engagement
    vector is nearest to `counts`' (ln-scaled), nearest first."""
    vector = engagement_vector(counts)
    point = [vector[m] for m in METRICS]
    nearest = _nearest_postgres if connection.vendor == "postgresql" else _nearest_bounded
    return nearest(point, exclude_id=exclude_id, limit=limit)
