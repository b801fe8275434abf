"""Lifecycle hot → warm → cold, through the real API and the real queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from api.services import tweet_remove
from lifecycle import services
from lifecycle.archive import archive_key, tweet_archive_key
from lifecycle.models import LifecycleTask, Target
from lifecycle.selectors import archive_document, queue_backlog, tier_counts
from lifecycle.tasks import lifecycle_dispatch
from tweets import cache as tweet_cache
from tweets.models import EventType, OutboxEvent, Tweet, TweetContent, TweetHashtag, TweetVersion

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client, text: str, **extra) -> dict:
    response = client.post("/api/v1/tweets", {"text": text, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _age(tweet_id: int, days: float) -> None:
    """Pretend the tweet was published `days` ago: move its times and re-derive its queue rows."""
    moment = timezone.now() - timedelta(days=days)
    Tweet.objects.filter(pk=tweet_id).update(created_at=moment, published_at=moment)
    LifecycleTask.objects.filter(tweet_id=tweet_id).delete()
    services.lifecycle_schedule(tweet_id=tweet_id, published_at=moment)
    tweet_cache.tweet_cache_delete(tweet_id)


def _edited_tweet(client) -> dict:
    tweet = _post(client, "first words #nexus")
    response = client.patch(f"/api/v1/tweets/{tweet['id']}", {"text": "second words #nexus #aged"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _events(tweet_id: int) -> list[dict]:
    return list(
        OutboxEvent.objects.filter(tweet_id=tweet_id, type=EventType.TIER_CHANGED)
        .order_by("id")
        .values_list("data", flat=True)
    )


def _objects(tweet_id: int) -> list[str]:
    folder = archive_key(tweet_id, "warm").rsplit("/", 1)[0]
    if not default_storage.exists(folder):
        return []
    return sorted(name for name in default_storage.listdir(folder)[1] if name.startswith(f"{tweet_id}."))


# --- scheduling ------------------------------------------------------------------------------
def test_publishing_queues_the_next_move_in_its_transaction(client_alice, settings):
    tweet = _post(client_alice, "hello")
    rows = {t.target: t.due_at for t in LifecycleTask.objects.filter(tweet_id=int(tweet["id"]))}
    published_at = Tweet.objects.get(pk=int(tweet["id"])).published_at
    # One row per tweet: the warm move; it retargets the row to cold when it runs.
    assert rows == {Target.WARM: published_at + timedelta(days=settings.NEXUS_HOT_DAYS)}


def test_a_draft_is_queued_only_when_published(client_alice):
    draft = _post(client_alice, "later", draft=True)
    assert not LifecycleTask.objects.filter(tweet_id=int(draft["id"])).exists()
    assert client_alice.post(f"/api/v1/tweets/{draft['id']}/publish").status_code == 200
    assert LifecycleTask.objects.filter(tweet_id=int(draft["id"])).count() == 1


# --- transitions -----------------------------------------------------------------------------
def test_hot_to_warm_archives_content_and_versions_and_slims_the_row(client_alice):
    tweet = _edited_tweet(client_alice)
    tweet_id = int(tweet["id"])
    _age(tweet_id, days=8)
    tweet = client_alice.get(f"/api/v1/tweets/{tweet_id}").json()
    before_versions = client_alice.get(f"/api/v1/tweets/{tweet_id}/versions").json()["results"]

    totals = services.lifecycle_run_due()

    assert totals == {"migrated": 1}
    row = Tweet.objects.get(pk=tweet_id)
    assert (row.tier, row.content_id, row.media_ids) == ("warm", None, [])
    assert (row.archive_key, tweet_archive_key(row)) == ("", archive_key(tweet_id, "warm"))  # derived, not stored
    assert not TweetVersion.objects.filter(tweet_id=tweet_id).exists()
    assert not TweetContent.objects.filter(text__in=["first words #nexus", "second words #nexus #aged"]).exists()
    assert set(TweetHashtag.objects.filter(tweet_id=tweet_id).values_list("tag", flat=True)) == {"nexus", "aged"}
    assert _events(tweet_id) == [{}]  # minimal: the new tier is on the tweet
    # The same queue row now names the cold move, due at the cold time (same transaction).
    task = LifecycleTask.objects.get(tweet_id=tweet_id)
    assert (task.target, task.due_at, task.attempts) == ("cold", row.published_at + timedelta(days=90), 0)
    if connection.vendor == "postgresql":
        assert row.search_vector is not None

    got = client_alice.get(f"/api/v1/tweets/{tweet_id}").json()
    assert {k: v for k, v in got.items() if k != "tier"} == {k: v for k, v in tweet.items() if k != "tier"}
    assert got["tier"] == "warm"
    assert client_alice.get(f"/api/v1/tweets/{tweet_id}/versions").json()["results"] == before_versions


def test_warm_to_cold_leaves_a_stub_and_final_counts_in_the_archive(client_alice, anon_client):
    tweet = _edited_tweet(client_alice)
    tweet_id = int(tweet["id"])
    _age(tweet_id, days=8)
    tweet = client_alice.get(f"/api/v1/tweets/{tweet_id}").json()
    services.lifecycle_run_due()
    warm_key = tweet_archive_key(Tweet.objects.get(pk=tweet_id))
    _age(tweet_id, days=91)

    assert services.lifecycle_run_due() == {"migrated": 1}  # the one row, retargeted to cold by the warm move

    row = Tweet.objects.get(pk=tweet_id)
    assert (row.tier, row.state, row.search_vector, row.edited_at) == ("cold", "archived", None, None)
    assert (row.archive_key, tweet_archive_key(row)) == ("", archive_key(tweet_id, "cold"))
    assert not TweetHashtag.objects.filter(tweet_id=tweet_id).exists()
    assert not default_storage.exists(warm_key)  # the warm object is released after commit
    assert _objects(tweet_id) == [f"{tweet_id}.cold.json.zst"]
    document = archive_document(row)
    assert document["final_metrics"] == {"likes": 0, "retweets": 0, "replies": 0, "quotes": 0, "views": 0}
    assert [v["version"] for v in document["versions"]] == [1, 2]
    assert not LifecycleTask.objects.filter(tweet_id=tweet_id).exists()

    got = anon_client.get(f"/api/v1/tweets/{tweet_id}").json()
    assert (got["tier"], got["state"], got["text"], got["version"]) == ("cold", "archived", tweet["text"], 2)
    assert got["content_hash"] == tweet["content_hash"]
    assert got["edited_at"] == tweet["edited_at"]


def test_a_hot_tweet_due_for_cold_goes_through_warm_in_one_run(client_alice):
    tweet_id = int(_post(client_alice, "very old #nexus")["id"])
    _age(tweet_id, days=120)
    assert services.lifecycle_run_due() == {"migrated": 1}
    assert Tweet.objects.get(pk=tweet_id).tier == "cold"
    assert _objects(tweet_id) == [f"{tweet_id}.cold.json.zst"]  # one object, written once
    assert not LifecycleTask.objects.filter(tweet_id=tweet_id).exists()
    assert _events(tweet_id) == [{}]  # one move, one event


def test_a_tweet_never_migrates_while_it_may_still_be_edited(client_alice, settings):
    settings.NEXUS_HOT_DAYS = 0
    tweet_id = int(_post(client_alice, "fresh")["id"])
    published_at = Tweet.objects.get(pk=tweet_id).published_at
    window_end = published_at + timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)
    # Scheduling already respects the window ...
    assert LifecycleTask.objects.get(tweet_id=tweet_id, target="warm").due_at == window_end
    # ... and a queue row that comes due early anyway is deferred, not run.
    LifecycleTask.objects.filter(tweet_id=tweet_id).update(due_at=timezone.now() - timedelta(minutes=1))

    assert services.lifecycle_run_due() == {"deferred": 1}

    assert Tweet.objects.get(pk=tweet_id).tier == "hot"
    assert set(LifecycleTask.objects.filter(tweet_id=tweet_id).values_list("due_at", flat=True)) == {window_end}


# --- idempotency and crashes -------------------------------------------------------------------
def test_running_the_job_twice_migrates_once(client_alice):
    ids = [int(_post(client_alice, f"tweet {i} #nexus")["id"]) for i in range(3)]
    for tweet_id in ids:
        _age(tweet_id, days=8)
    assert services.lifecycle_run_due() == {"migrated": 3}
    assert services.lifecycle_run_due() == {}
    for tweet_id in ids:
        assert services.tweet_migrate(tweet_id=tweet_id, target="warm") == "noop"
        assert len(_events(tweet_id)) == 1
        assert _objects(tweet_id) == [f"{tweet_id}.warm.json.zst"]


def test_a_crash_between_archive_write_and_row_update_is_repaired_by_the_rerun(client_alice, anon_client):
    tweet = _edited_tweet(client_alice)
    tweet_id = int(tweet["id"])
    _age(tweet_id, days=8)
    # The worker claims the row, writes the archive object, and dies before the row update commits.
    claimed = services.lifecycle_claim(limit=10)
    with pytest.raises(RuntimeError), transaction.atomic():
        row = Tweet.objects.select_for_update().get(pk=tweet_id)
        services.tweet_archive_warm(tweet=row)
        raise RuntimeError("worker killed")
    assert len(claimed) == 1
    assert _objects(tweet_id) == [f"{tweet_id}.warm.json.zst"]
    row = Tweet.objects.get(pk=tweet_id)
    assert (row.tier, row.content_id is not None) == ("hot", True)
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["text"] == tweet["text"]  # readable meanwhile

    # Its lease runs out; the next run takes the row again and finishes exactly once.
    LifecycleTask.objects.filter(pk=claimed[0]).update(due_at=timezone.now())
    assert services.lifecycle_run_due() == {"migrated": 1}
    assert services.lifecycle_run_due() == {}

    assert Tweet.objects.get(pk=tweet_id).tier == "warm"
    assert len(_events(tweet_id)) == 1
    assert _objects(tweet_id) == [f"{tweet_id}.warm.json.zst"]
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["text"] == tweet["text"]


def test_a_redelivered_worker_message_does_not_run_the_retargeted_cold_move_early(client_alice):
    tweet_id = int(_post(client_alice, "delivered twice")["id"])
    _age(tweet_id, days=8)
    claimed = services.lifecycle_claim(limit=10)
    assert services.lifecycle_tasks_process(task_ids=claimed) == {"migrated": 1}
    cold_due = LifecycleTask.objects.get(tweet_id=tweet_id).due_at
    # The broker hands the same message to a second worker (acks_late): the row
    # it names is now the cold move, months ahead; it stays where it is.
    assert services.lifecycle_tasks_process(task_ids=claimed) == {"deferred": 1}
    assert Tweet.objects.get(pk=tweet_id).tier == "warm"
    task = LifecycleTask.objects.get(tweet_id=tweet_id)
    assert (task.target, task.due_at) == ("cold", cold_due)
    assert len(_events(tweet_id)) == 1


def test_a_failing_store_keeps_the_tweet_hot_and_the_row_queued_with_backoff(client_alice, settings, monkeypatch):
    tweet_id = int(_post(client_alice, "store down")["id"])
    _age(tweet_id, days=8)

    def broken(**kwargs):
        raise OSError("object store unreachable")

    monkeypatch.setattr(services, "archive_write", broken)
    assert services.lifecycle_run_due() == {"failed": 1}
    task = LifecycleTask.objects.get(tweet_id=tweet_id, target="warm")
    assert task.due_at > timezone.now() + timedelta(seconds=settings.NEXUS_LIFECYCLE_LEASE_SECONDS)
    assert "object store unreachable" in task.last_error
    assert Tweet.objects.get(pk=tweet_id).tier == "hot"
    assert queue_backlog()["failing"] == 1


def test_concurrent_claims_never_share_a_row(client_alice):
    for i in range(5):
        _age(int(_post(client_alice, f"t{i}")["id"]), days=8)
    first = services.lifecycle_claim(limit=3)
    second = services.lifecycle_claim(limit=10)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert services.lifecycle_claim(limit=10) == []  # all leased


def test_beat_dispatch_hands_claimed_rows_to_workers(client_alice):
    ids = [int(_post(client_alice, f"beat {i}")["id"]) for i in range(2)]
    for tweet_id in ids:
        _age(tweet_id, days=8)
    assert lifecycle_dispatch.apply().get() == 2  # eager Celery: the worker task runs on commit
    assert set(Tweet.objects.filter(pk__in=ids).values_list("tier", flat=True)) == {"warm"}
    assert queue_backlog()["due"] == 0


# --- transparent reads ---------------------------------------------------------------------------
def _three_tiers(client) -> dict[str, dict]:
    tweets = {tier: _post(client, f"{tier} tweet #nexus") for tier in ("hot", "warm", "cold")}
    _age(int(tweets["warm"]["id"]), days=10)
    _age(int(tweets["cold"]["id"]), days=100)
    services.lifecycle_run_due()
    return tweets


def test_every_tier_reads_the_same_through_get_batch_versions_and_timeline(client_alice, anon_client):
    tweets = _three_tiers(client_alice)
    assert tier_counts() == {"hot": 1, "warm": 1, "cold": 1}
    ids = [tweets[t]["id"] for t in ("cold", "hot", "warm")]

    for _ in range(2):  # second round is served from the cache
        for tier, tweet in tweets.items():
            got = anon_client.get(f"/api/v1/tweets/{tweet['id']}")
            assert got.status_code == 200
            assert (got.json()["tier"], got.json()["text"]) == (tier, tweet["text"])
            versions = anon_client.get(f"/api/v1/tweets/{tweet['id']}/versions").json()["results"]
            assert [(v["version"], v["text"]) for v in versions] == [(1, tweet["text"])]
        batch = anon_client.get(f"/api/v1/tweets?ids={','.join(ids)}").json()["results"]
        assert [t["id"] for t in batch] == ids
        assert [t["text"] for t in batch] == [tweets[t]["text"] for t in ("cold", "hot", "warm")]
    assert tweet_cache.tweet_cache_get_many([int(tweets["warm"]["id"])])  # hydrated record cached

    timeline = anon_client.get("/api/v1/users/alice/tweets").json()["results"]
    assert [t["id"] for t in timeline] == [tweets[t]["id"] for t in ("hot", "warm", "cold")]


def test_etag_304_works_on_an_archived_tweet(anon_client, client_alice):
    tweet_id = _three_tiers(client_alice)["cold"]["id"]
    first = anon_client.get(f"/api/v1/tweets/{tweet_id}")
    again = anon_client.get(f"/api/v1/tweets/{tweet_id}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_an_archived_tweet_cannot_be_edited(client_alice):
    tweet_id = _three_tiers(client_alice)["warm"]["id"]
    response = client_alice.patch(f"/api/v1/tweets/{tweet_id}", {"text": "too late"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "edit_window_closed"


def test_a_moderator_removes_a_cold_tweet(client_alice, anon_client, moderator):
    tweet_id = _three_tiers(client_alice)["cold"]["id"]
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").status_code == 200  # cached now
    tweet_remove(tweet_id=int(tweet_id), moderator=moderator, reason="spam")
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").status_code == 404
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}/versions").status_code == 404
    assert Tweet.objects.get(pk=int(tweet_id)).tier == "cold"


def test_a_deleted_tweet_still_migrates_and_stays_gone(client_alice, anon_client):
    tweet_id = int(_post(client_alice, "regret")["id"])
    assert client_alice.delete(f"/api/v1/tweets/{tweet_id}").status_code == 204
    _age(tweet_id, days=100)
    services.lifecycle_run_due()
    assert Tweet.objects.get(pk=tweet_id).tier == "cold"
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").status_code == 404


@pytest.mark.postgres
def test_search_still_finds_warm_tweets_but_not_cold_ones(client_alice, anon_client):
    tweets = _three_tiers(client_alice)
    found = anon_client.get("/api/v1/search?q=tweet").json()["results"]
    assert [t["id"] for t in found] == [tweets["hot"]["id"], tweets["warm"]["id"]]
    by_tag = anon_client.get("/api/v1/search", {"q": "#nexus"}).json()["results"]
    assert [t["id"] for t in by_tag] == [tweets["hot"]["id"], tweets["warm"]["id"]]
    assert anon_client.get("/api/v1/search?q=warm").json()["results"][0]["text"] == "warm tweet #nexus"


def test_likes_and_views_on_warm_and_cold_tweets_still_count(client_alice, client_bob):
    tweets = _three_tiers(client_alice)
    for tier in ("warm", "cold"):
        tweet_id = tweets[tier]["id"]
        response = client_bob.post(f"/api/v1/tweets/{tweet_id}/like")
        assert response.status_code == 200, response.content
        assert response.json() == {"liked": True, "likes": 1}
        assert client_bob.post("/api/v1/views", {"tweet_ids": [tweet_id]}, format="json").status_code == 202
    assert Tweet.objects.get(pk=int(tweets["cold"]["id"])).tier == "cold"  # counting never rehydrates the row


def test_the_cold_move_drops_the_engagement_vector_in_its_transaction(client_alice):
    from analytics.models import EngagementVector

    tweets = {tier: _post(client_alice, f"{tier} vector") for tier in ("warm", "cold")}
    ids = {tier: int(t["id"]) for tier, t in tweets.items()}
    EngagementVector.objects.bulk_create([EngagementVector(tweet_id=i) for i in ids.values()], ignore_conflicts=True)
    _age(ids["warm"], days=10)
    _age(ids["cold"], days=100)

    services.lifecycle_run_due()

    # Warm tweets stay similarity candidates; cold ones lose the row before any feed job runs.
    assert set(EngagementVector.objects.values_list("tweet_id", flat=True)) == {ids["warm"]}


def test_an_archived_record_is_read_from_the_store_once_then_served_from_the_cache(
    client_alice, anon_client, monkeypatch, settings
):
    from lifecycle import selectors as lifecycle_selectors

    settings.NEXUS_ARCHIVE_CACHE_SECONDS = 600
    tweets = _three_tiers(client_alice)
    reads: list[str] = []
    real_read = lifecycle_selectors.archive_read
    monkeypatch.setattr(lifecycle_selectors, "archive_read", lambda key: reads.append(key) or real_read(key))
    ids = [tweets[t]["id"] for t in ("warm", "cold")]
    for tweet_id in ids:
        tweet_cache.tweet_cache_delete(int(tweet_id))

    for _ in range(3):
        batch = anon_client.get(f"/api/v1/tweets?ids={','.join(ids)}").json()["results"]
        assert [t["text"] for t in batch] == [tweets["warm"]["text"], tweets["cold"]["text"]]
        assert anon_client.get(f"/api/v1/tweets/{ids[0]}").json()["text"] == tweets["warm"]["text"]

    assert sorted(reads) == sorted(archive_key(int(i), tier) for i, tier in zip(ids, ("warm", "cold"), strict=True))


def test_a_cold_tweet_keeps_its_counts_without_its_counters_row(client_alice, client_bob, anon_client):
    from engagement import counters
    from engagement.models import CounterSlot, TweetCounters

    tweet_id = int(_post(client_alice, "counted then cold")["id"])
    assert client_bob.post(f"/api/v1/tweets/{tweet_id}/like").status_code == 200
    assert client_bob.post("/api/v1/views", {"tweet_ids": [tweet_id]}, format="json").status_code == 202
    counters.counters_flush()
    assert TweetCounters.objects.filter(tweet_id=tweet_id).exists()
    _age(tweet_id, days=100)

    services.lifecycle_run_due()

    row = Tweet.objects.get(pk=tweet_id)
    assert row.tier == "cold"
    assert not TweetCounters.objects.filter(tweet_id=tweet_id).exists()  # the derived sum is gone
    assert CounterSlot.objects.filter(tweet_id=tweet_id).exists()  # the counter state is not
    assert archive_document(row)["final_metrics"]["likes"] == 1
    expected = {"likes": 1, "retweets": 0, "replies": 0, "quotes": 0, "views": 1}
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["metrics"] == expected
    # Redis unreachable: the fallback sums the slots, so the views survive the missing row.
    assert counters._pg_fallback_counts([tweet_id])[tweet_id] == expected

    # A like on the cold tweet still counts, and the next flush writes the sum again.
    response = client_alice.post(f"/api/v1/tweets/{tweet_id}/like")
    assert response.json() == {"liked": True, "likes": 2}
    counters.counters_flush()
    assert TweetCounters.objects.get(tweet_id=tweet_id).likes == 2
    assert Tweet.objects.get(pk=tweet_id).tier == "cold"
