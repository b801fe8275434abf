"""GET /api/v1/tweets/{id}/similar: nearest-first over published hot and warm
tweets, fed by the counter flush and the outbox feed."""

from __future__ import annotations

import math
import time

import pytest
from django.db import connection

from analytics import services
from analytics.models import EngagementPoint, EngagementVector, FeedCursor
from analytics.selectors import similar_sql, similar_warm_sql
from api.services import tweet_remove, tweet_restore
from engagement.services import counters_flush
from lifecycle.models import Target
from lifecycle.services import tweet_migrate
from tweets.models import Tier, Tweet
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def _vectors(counts_by_tweet: dict) -> None:
    """What the counter flush hands over: tweet id → summed counts."""
    services.engagement_vectors_update(counts={t.id: counts for t, counts in counts_by_tweet.items()})


def _similar(client, tweet_id, query: str = "") -> dict:
    response = client.get(f"/api/v1/tweets/{tweet_id}/similar{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _ids(body: dict) -> list[int]:
    return [int(r["tweet"]["id"]) for r in body["results"]]


@pytest.fixture
def spread(user):
    """Four tweets at increasing distance from zero engagement."""
    tweets = [make_tweet(user, f"tweet {i}") for i in range(4)]
    _vectors(
        {
            tweets[0]: {"likes": 1},
            tweets[1]: {"likes": 3, "views": 10},
            tweets[2]: {"likes": 50, "retweets": 5, "views": 1000},
            tweets[3]: {"likes": 5000, "retweets": 900, "replies": 300, "quotes": 50, "views": 10**6},
        }
    )
    return tweets


def test_nearest_first_with_distances(user, anon_client, spread):
    query = make_tweet(user, "no engagement yet")

    body = _similar(anon_client, query.id)

    assert _ids(body) == [t.id for t in spread]
    distances = [r["distance"] for r in body["results"]]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(math.log(2), abs=1e-6)  # only likes: ln(1 + 1)
    expected_second = math.sqrt(math.log(4) ** 2 + math.log(11) ** 2)
    assert distances[1] == pytest.approx(expected_second, abs=1e-6)
    assert body["results"][0]["tweet"]["text"] == "tweet 0"  # full tweet JSON


def test_limit_and_self_exclusion(anon_client, spread):
    body = _similar(anon_client, spread[1].id, "?limit=2")

    ids = _ids(body)
    assert spread[1].id not in ids
    assert ids == [spread[0].id, spread[2].id]


def test_flush_keeps_vectors_current(user, other_user, client_bob, anon_client):
    """The real path: likes and views, then the counter flush writes the vector."""
    quiet, liked = make_tweet(user, "quiet"), make_tweet(user, "liked")
    assert client_bob.post(f"/api/v1/tweets/{liked.id}/like").status_code == 200
    assert client_bob.post("/api/v1/views", {"tweet_ids": [str(quiet.id)]}, format="json").status_code == 202

    counters_flush()

    vector = EngagementVector.objects.get(tweet_id=liked.id)
    assert vector.likes == pytest.approx(math.log(2)) and vector.views == 0
    assert EngagementVector.objects.get(tweet_id=quiet.id).views == pytest.approx(math.log(2))
    # `liked`'s live vector is (ln 2, 0, 0, 0, 0): `quiet` is sqrt(2)·ln 2 away.
    body = _similar(anon_client, liked.id)
    assert _ids(body) == [quiet.id]
    assert body["results"][0]["distance"] == pytest.approx(math.sqrt(2) * math.log(2), abs=1e-6)


@pytest.fixture
def migrate_to(settings):
    """The real lifecycle move (archive written, row slimmed), edit window closed."""
    settings.NEXUS_EDIT_WINDOW_SECONDS = 0

    def _migrate(tweet, target: str) -> None:
        assert tweet_migrate(tweet_id=tweet.id, target=target) == "migrated"

    return _migrate


def test_cold_deleted_removed_and_drafts_never_appear(user, client_alice, anon_client, moderator, spread, migrate_to):
    cold, deleted, removed = spread[0], spread[1], spread[2]
    draft = make_tweet(user, "draft", draft=True)
    EngagementVector.objects.create(tweet=draft, likes=0.1)  # even if a row existed
    migrate_to(cold, Target.COLD)
    assert client_alice.delete(f"/api/v1/tweets/{deleted.id}").status_code == 204
    tweet_remove(tweet_id=removed.id, moderator=moderator, reason="spam")
    query = make_tweet(user, "query")

    # Filtered at query time, before any feed job has run.
    assert _ids(_similar(anon_client, query.id)) == [spread[3].id]


def test_warm_tweets_appear_and_cold_ones_leave_the_index(anon_client, spread, user, migrate_to):
    migrate_to(spread[0], Target.WARM)
    migrate_to(spread[1], Target.COLD)
    query = make_tweet(user, "query")

    body = _similar(anon_client, query.id)
    assert _ids(body) == [spread[0].id, spread[2].id, spread[3].id]
    assert body["results"][0]["tweet"]["tier"] == "warm"
    assert body["results"][0]["tweet"]["text"] == "tweet 0"  # hydrated from the archive

    # What the feed job does with the two tweet.tier_changed events: the hot
    # rows stay, the warm tweet keeps its vector as a key in its own row.
    services.engagement_vectors_membership_sync(tweet_ids={spread[0].id, spread[1].id})
    assert set(EngagementVector.objects.values_list("tweet_id", flat=True)) == {spread[2].id, spread[3].id}
    key = Tweet.objects.get(pk=spread[0].id).engagement_key
    assert key == services.engagement_key(services.engagement_vector({"likes": 1}))
    assert EngagementPoint.objects.filter(key=key).exists()
    assert Tweet.objects.get(pk=spread[1].id).engagement_key is None  # cold: no key


def test_warm_distance_is_its_points_within_half_a_step(anon_client, spread, user, migrate_to):
    """A warm tweet's distance is its quantised point's: close to the exact one."""
    migrate_to(spread[2], Target.WARM)
    query = make_tweet(user, "query")

    body = _similar(anon_client, query.id)

    assert _ids(body) == [t.id for t in spread]
    exact = math.sqrt(math.log(51) ** 2 + math.log(6) ** 2 + math.log(1001) ** 2)
    half_steps = math.sqrt(5) / (2 * services.KEY_SCALE)
    assert body["results"][2]["distance"] == pytest.approx(exact, abs=half_steps)
    assert body["results"][2]["tweet"]["tier"] == "warm"


def test_engagement_key_round_trip():
    """Counts up to about 30 survive the quantisation exactly (steps of 1/32 in
    ln(1 + count)); larger ones within half a step; huge ones saturate."""
    for counts in ({}, {"likes": 1}, {"likes": 30, "retweets": 2, "replies": 1, "quotes": 3, "views": 29}):
        vector = services.engagement_vector(counts)
        point = services.engagement_point(services.engagement_key(vector))
        for metric in vector:
            assert round(math.expm1(point[metric])) == counts.get(metric, 0) or counts.get(metric, 0) > 30
    big = services.engagement_vector({"views": 10**9, "likes": 12345})
    point = services.engagement_point(services.engagement_key(big))
    assert point["views"] == pytest.approx(big["views"], abs=0.5 / services.KEY_SCALE)
    assert point["likes"] == pytest.approx(big["likes"], abs=0.5 / services.KEY_SCALE)


def test_flush_moves_a_warm_tweets_key(user, client_bob, anon_client, migrate_to):
    """Engagement on a warm tweet: the counter flush rewrites the key in its row."""
    tweet = make_tweet(user, "aged")
    migrate_to(tweet, Target.WARM)
    before = Tweet.objects.get(pk=tweet.id).engagement_key
    assert before == services.engagement_key(services.engagement_vector({}))

    assert client_bob.post(f"/api/v1/tweets/{tweet.id}/like").status_code == 200
    counters_flush()

    after = Tweet.objects.get(pk=tweet.id).engagement_key
    assert after == services.engagement_key(services.engagement_vector({"likes": 1}))
    assert not EngagementVector.objects.filter(tweet_id=tweet.id).exists()
    query = make_tweet(user, "liked once too")
    services.engagement_vectors_update(counts={query.id: {"likes": 1}})
    assert _similar(anon_client, query.id)["results"][0]["tweet"]["id"] == str(tweet.id)


def test_points_prune_keeps_only_carried_points(user, spread, migrate_to):
    migrate_to(spread[0], Target.WARM)
    migrate_to(spread[1], Target.WARM)
    carried = set(Tweet.objects.filter(engagement_key__isnull=False).values_list("engagement_key", flat=True))
    EngagementPoint.objects.create(key=12345, **services.engagement_point(12345))

    assert services.engagement_points_prune() == 1
    assert set(EngagementPoint.objects.values_list("key", flat=True)) == carried
    migrate_to(spread[1], Target.COLD)
    assert services.engagement_points_prune() == 1
    assert set(EngagementPoint.objects.values_list("key", flat=True)) == {
        Tweet.objects.get(pk=spread[0].id).engagement_key
    }


def test_membership_sync_adds_published_and_drops_gone_rows(user, client_alice, moderator):
    kept, deleted, removed = (make_tweet(user, f"t{i}") for i in range(3))
    draft = make_tweet(user, "draft", draft=True)
    every = {kept.id, deleted.id, removed.id, draft.id}

    services.engagement_vectors_membership_sync(tweet_ids=every)
    assert set(EngagementVector.objects.values_list("tweet_id", flat=True)) == {kept.id, deleted.id, removed.id}

    assert client_alice.delete(f"/api/v1/tweets/{deleted.id}").status_code == 204
    tweet_remove(tweet_id=removed.id, moderator=moderator, reason="spam")
    services.engagement_vectors_membership_sync(tweet_ids=every)
    assert set(EngagementVector.objects.values_list("tweet_id", flat=True)) == {kept.id}

    tweet_restore(tweet_id=removed.id, moderator=moderator, reason="appeal")
    services.engagement_vectors_membership_sync(tweet_ids=every)
    assert set(EngagementVector.objects.values_list("tweet_id", flat=True)) == {kept.id, removed.id}


def test_membership_sync_never_overwrites_flushed_values(user):
    tweet = make_tweet(user, "t")
    _vectors({tweet: {"likes": 9}})

    services.engagement_vectors_membership_sync(tweet_ids={tweet.id})

    assert EngagementVector.objects.get(tweet_id=tweet.id).likes == pytest.approx(math.log(10))


# The outbox feed hands out only events of transactions older than every one
# still running on the server (PostgreSQL xmin), so this test must really
# commit, and may have to wait for another session's transaction to end.
@pytest.mark.django_db(transaction=True)
def test_feed_job_follows_the_outbox(user, client_alice):
    kept, deleted = make_tweet(user, "kept"), make_tweet(user, "deleted")
    assert client_alice.delete(f"/api/v1/tweets/{deleted.id}").status_code == 204

    rows: set[int] = set()
    for _ in range(300):  # bounded: a stuck feed fails the test, it never hangs
        services.engagement_vectors_sync()
        rows = set(EngagementVector.objects.values_list("tweet_id", flat=True))
        if rows == {kept.id}:
            break
        time.sleep(0.1)
    assert rows == {kept.id}
    assert FeedCursor.objects.get(name=services.VECTOR_FEED).cursor


def test_flush_drops_the_row_of_a_tweet_that_went_cold(spread, migrate_to):
    migrate_to(spread[2], Target.COLD)

    _vectors({spread[2]: {"likes": 60}})

    assert not EngagementVector.objects.filter(tweet_id=spread[2].id).exists()


def test_many_stale_nearest_rows_still_give_k_results(user, anon_client):
    """Rows of tweets that left hot/warm (not yet dropped by the feed job) are
    skipped, widening the index walk as needed."""
    near = [make_tweet(user, f"near {i}") for i in range(30)]
    far = [make_tweet(user, f"far {i}") for i in range(3)]
    _vectors({t: {"views": 1} for t in near} | {t: {"likes": 100 + i} for i, t in enumerate(far)})
    Tweet.objects.filter(pk__in=[t.pk for t in near]).update(tier=Tier.COLD)  # rows left in place
    query = make_tweet(user, "query")

    assert _ids(_similar(anon_client, query.id, "?limit=3")) == [t.id for t in far]


# --- 4xx siblings -----------------------------------------------------------------------------
def test_unknown_tweet_is_404(anon_client):
    assert anon_client.get("/api/v1/tweets/123456789/similar").status_code == 404
    assert anon_client.get("/api/v1/tweets/not-an-id/similar").status_code == 404


def test_someone_elses_draft_is_404_but_your_own_is_not(user, client_alice, client_bob, spread):
    draft = make_tweet(user, "draft", draft=True)

    assert client_bob.get(f"/api/v1/tweets/{draft.id}/similar").status_code == 404
    assert _ids(_similar(client_alice, draft.id))[0] == spread[0].id


def test_deleted_tweet_is_404(user, client_alice, anon_client):
    tweet = make_tweet(user, "bye")
    client_alice.delete(f"/api/v1/tweets/{tweet.id}")

    assert anon_client.get(f"/api/v1/tweets/{tweet.id}/similar").status_code == 404


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_bad_limit_is_400(user, anon_client, limit):
    tweet = make_tweet(user, "x")

    response = anon_client.get(f"/api/v1/tweets/{tweet.id}/similar?limit={limit}")

    assert response.status_code == 400
    assert "limit" in response.json()["fields"]


# --- the index ------------------------------------------------------------------------------
ROWS = 100_000
POINTS = 20_000  # distinct warm vectors: a tiny points table is rightly read whole and sorted


def _spread_key(n: int) -> int:
    """The n-th of POINTS keys, spread over the five metrics (0–15 steps each)."""
    key = 0
    for _ in range(5):
        key = (key << services.KEY_BITS) | (n % 16)
        n //= 16
    return key


@pytest.mark.postgres
def test_knn_query_uses_the_gist_index_over_100k_rows(user):
    """EXPLAIN the exact query the endpoint runs over ≥ 100k vectors (and as
    many tweets): it must walk the GiST index nearest-first, never Seq Scan."""

    with connection.cursor() as cursor:
        # Bulk rows straight in SQL: generate_series is seconds, the ORM minutes.
        cursor.execute(
            """
            INSERT INTO tweets_tweet (id, author_id, media_ids, state, version, created_at, published_at,
                                      tier, removed_reason)
            SELECT g, %s, '[]'::jsonb, 'published', 1, now(), now(),
                   CASE WHEN g %% 3 = 0 THEN 'warm' WHEN g %% 7 = 0 THEN 'cold' ELSE 'hot' END, ''
            FROM generate_series(1, %s) AS g
            """,
            [user.pk, ROWS],
        )
        cursor.execute(
            """
            INSERT INTO analytics_engagementvector (tweet_id, likes, retweets, replies, quotes, views)
            SELECT g, ln(1 + (g * 7919) %% 5000), ln(1 + (g * 104729) %% 300), ln(1 + (g * 31) %% 40),
                   ln(1 + (g * 17) %% 10), ln(1 + (g * 6151) %% 1000000)
            FROM generate_series(1::bigint, %s) AS g
            """,
            [ROWS],
        )
        cursor.execute("ANALYZE tweets_tweet")
        cursor.execute("ANALYZE analytics_engagementvector")
        sql, params = similar_sql(point=[1.0, 0.5, 0.2, 0.0, 6.0], exclude_id=42, fetch=50)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    assert "Seq Scan" not in plan, plan
    assert "analytics_engagementvector_vec_gist" in plan, plan
    assert "tweets_tweet_pkey" in plan, plan  # visibility checked per row by primary key
    assert len(rows) == 50
    distances = [d for _, d, _ in rows]
    assert distances == sorted(distances)
    tiers = dict(Tweet.objects.filter(pk__in=[r[0] for r in rows]).values_list("pk", "tier"))
    assert all(visible == (tiers[tweet_id] == Tier.HOT) for tweet_id, _, visible in rows)
    assert any(not visible for *_, visible in rows)  # the filter really had rows to drop


# transaction=True: the teardown TRUNCATEs, so the 20,000 points' GiST pages do
# not outlive the test (a rollback would leave them, and storage_report's
# tests measure that table's size as warm bytes).
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_warm_knn_query_uses_the_points_index_over_100k_warm_rows(user):
    """EXPLAIN the warm walk over 100k warm tweets carrying keys: nearest
    points off their GiST index, each point's tweets through the key index."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tweets_tweet (id, author_id, media_ids, state, version, created_at, published_at,
                                      tier, removed_reason, engagement_key)
            SELECT g, %s, '[]'::jsonb, 'published', 1, now(), now(), 'warm', '', 0
            FROM generate_series(1, %s) AS g
            """,
            [user.pk, ROWS],
        )
        # Each tweet's key: its point among POINTS spread over the five metrics.
        cursor.execute(
            "UPDATE tweets_tweet t SET engagement_key = k.key FROM unnest(%s::bigint[], %s::bigint[]) AS k(id, key) "
            "WHERE t.id = k.id",
            [list(range(1, ROWS + 1)), [_spread_key((g * 7919) % POINTS) for g in range(1, ROWS + 1)]],
        )
        cursor.execute("ANALYZE tweets_tweet")
    keys = sorted({(g * 7919) % POINTS for g in range(1, ROWS + 1)})
    EngagementPoint.objects.bulk_create(
        [EngagementPoint(key=_spread_key(key), **services.engagement_point(_spread_key(key))) for key in keys],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_engagementpoint")
        sql, params = similar_warm_sql(point=[0.5, 0.0, 0.0, 0.0, 1.0], exclude_id=42, points=30, limit=20)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    assert "Seq Scan" not in plan, plan
    assert "analytics_engagementpoint_gist" in plan, plan
    assert "tweet_warm_engagement" in plan, plan
    assert len({key for key, *_ in rows}) == 30
    assert all(tweet_id is not None for *_, tweet_id in rows)
    distances = [d for _, d, _ in rows]
    assert distances == sorted(distances)
    nearest = min(
        (_spread_key(k) for k in keys),
        key=lambda k: math.dist(services.engagement_point(k).values(), [0.5, 0, 0, 0, 1.0]),
    )
    assert rows[0][0] == nearest
