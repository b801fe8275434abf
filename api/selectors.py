"""The tweet as clients see it: the tweets app's record (hot rows, or the
lifecycle's archive for warm and cold ones), engagement's live metrics and
media's JSON, composed. Every endpoint that returns tweets reads them here."""

from __future__ import annotations

from analytics.selectors import similar_ranked
from engagement.models import METRICS
from engagement.selectors import engaged_read_many, metrics_for_many, metrics_read_many, trending_ranked
from lifecycle.selectors import archived_records_get_many
from media.selectors import media_render_many
from nexus.redis_batch import redis_batch
from tweets import cache as tweet_cache
from tweets.models import Tier, Tweet, record_visible_to
from tweets.selectors import hot_versions, tweet_record_build
from tweets.selectors import tweet_records_get_many as _tweet_records_get_many
from tweets.serializers import TweetOutput

# The tweet JSON is rendered by the serializer the schema is generated from
# (its fields are never built: to_representation is a plain dict).
TWEET_OUTPUT = TweetOutput()
ZERO_METRICS = dict.fromkeys(METRICS, 0)


def tweet_records_get_many(tweet_ids, *, cached: dict[int, dict] | None = None) -> dict[int, dict]:
    """Records of tweets in every tier (not gone, drafts included)."""
    return _tweet_records_get_many(tweet_ids, archived_records=archived_records_get_many, cached=cached)


def tweets_render(
    records: list[dict], *, zero_metrics: bool = False, metrics: dict[int, dict] | None = None
) -> list[dict]:
    """Tweet JSON for records, with live metrics (looked up unless given) and
    media: one metrics lookup and at most one media lookup for the whole list."""
    if metrics is None:
        metrics = {} if zero_metrics else metrics_for_many([r["id"] for r in records])
    media = media_render_many(m for r in records for m in r["media_ids"])
    return [TWEET_OUTPUT.to_representation((r, metrics.get(r["id"]) or ZERO_METRICS, media)) for r in records]


def tweet_render_written(tweet: Tweet, *, created: bool = False) -> dict:
    """JSON of a tweet this request just wrote, from the instance in hand
    (no re-read); 404 semantics are the caller's, the row is known visible.
    A tweet created by this request has no engagement yet: no lookup."""
    return tweets_render([tweet_record_build(tweet)], zero_metrics=created)[0]


def tweet_get(*, tweet_id: int, user) -> dict | None:
    """Tweet JSON, or None when unknown, gone, or someone else's draft."""
    found = tweets_get_many(tweet_ids=[tweet_id], user=user)
    return found[0] if found else None


def tweets_get_many(*, tweet_ids: list[int], user) -> list[dict]:
    """Tweet JSON in the order asked, invisible ids left out. The cached
    records and the live counts are read in one Redis round trip; counts are
    then completed only for the tweets found visible."""
    return _tweets_read(tweet_ids, user, flags=False)[0]


def tweets_engaged_get_many(*, tweet_ids: list[int], user) -> tuple[list[dict], set[int], set[int]]:
    """`tweets_get_many`, and which of those tweets the user has liked and
    which retweeted (none for an anonymous one), read in the same round trip."""
    return _tweets_read(tweet_ids, user, flags=user is not None and user.is_authenticated)


def _tweets_read(tweet_ids: list[int], user, *, flags: bool) -> tuple[list[dict], set[int], set[int]]:
    ids = list(dict.fromkeys(tweet_ids))
    with redis_batch():
        cached = tweet_cache.tweet_cache_read_many(ids)
        counts = metrics_read_many(ids)
        engaged = engaged_read_many(user_id=user.pk, tweet_ids=ids) if flags else None
    records = tweet_records_get_many(ids, cached=cached())
    ordered = [records[i] for i in ids if i in records and record_visible_to(records[i], user)]
    visible = [r["id"] for r in ordered]
    liked, shared = engaged(visible) if engaged is not None else (set(), set())
    return tweets_render(ordered, metrics=counts(visible)), liked, shared


def tweet_versions(*, tweet_id: int, user) -> list[dict] | None:
    """All versions oldest first, in every tier; None when not visible."""
    record = tweet_records_get_many([tweet_id]).get(tweet_id)
    if record is None or not record_visible_to(record, user):
        return None
    if record["tier"] != Tier.HOT:
        return record["versions"]
    return hot_versions(tweet_id)


def trending_get(*, window_seconds: int, limit: int, user) -> list[dict]:
    """Tweets ranked by engagement velocity in the window, with their scores."""
    # Ask for a few more: deleted or invisible tweets drop out of the render.
    ranked = trending_ranked(window_seconds=window_seconds, limit=limit + 10)
    scores = dict(ranked)
    tweets = tweets_get_many(tweet_ids=[tweet_id for tweet_id, _ in ranked], user=user)
    return [{"tweet": t, "score": round(scores[int(t["id"])], 4)} for t in tweets[:limit]]


def tweet_similar(*, tweet_id: int, user, limit: int) -> list[dict] | None:
    """Published hot/warm tweets nearest to this one's engagement vector,
    nearest first; None when the tweet is unknown, gone or someone else's draft."""
    record = tweet_records_get_many([tweet_id]).get(tweet_id)
    if record is None or not record_visible_to(record, user):
        return None
    # The live counts: fresher than the tweet's own flushed vector (if any).
    pairs = similar_ranked(counts=metrics_for_many([tweet_id]).get(tweet_id, {}), exclude_id=tweet_id, limit=limit)
    distances = dict(pairs)
    tweets = tweets_get_many(tweet_ids=[i for i, _ in pairs], user=user)
    return [{"tweet": t, "distance": round(distances[int(t["id"])], 6)} for t in tweets]
