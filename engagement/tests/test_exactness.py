"""Exact counts under concurrency, interrupted and concurrent flushes, a wiped
Redis and an unreachable one. Real servers, threads with their own connections."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from rest_framework.authtoken.models import Token

from engagement import counters
from engagement.models import CounterRepair, CounterSlot, Like, TweetCounters
from tweets.tests.factories import make_tweet


def _users_with_tokens(n: int, prefix: str) -> list:
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"{prefix}{i}") for i in range(n)])
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    return users


def _in_threads(jobs: list[Callable[[], object]], workers: int = 20) -> list:
    """Run jobs from `workers` threads at once, each thread on its own DB connection."""
    barrier = threading.Barrier(min(workers, len(jobs)))

    def run(job):
        try:
            return job()
        finally:
            connection.close()

    def start(job):
        return job

    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Line the first `workers` jobs up on a barrier so they really collide.
        first = [pool.submit(lambda j=j: (barrier.wait(), run(j))[1]) for j in jobs[:workers]]
        rest = [pool.submit(run, j) for j in jobs[workers:]]
        return [f.result() for f in first + rest]


def _like_job(make_client, user, tweet_id: int, method: str = "post"):
    def job():
        response = getattr(make_client(user), method)(f"/api/v1/tweets/{tweet_id}/like")
        assert response.status_code == 200, response.content
        return response.json()

    return job


def _stored_counts(tweet_id: int) -> dict:
    return TweetCounters.objects.get(tweet_id=tweet_id).as_dict()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_likes_count_exactly_200(make_user, make_client, tweet_metrics):
    tweet = make_tweet(make_user("star"), "viral")
    users = _users_with_tokens(200, "fan")

    results = _in_threads([_like_job(make_client, u, tweet.id) for u in users])

    assert sorted(r["likes"] for r in results)[-1] == 200
    assert all(r["liked"] for r in results)
    assert tweet_metrics(tweet.id)["likes"] == 200
    assert Like.objects.filter(tweet=tweet).count() == 200
    counters.counters_flush()
    assert _stored_counts(tweet.id)["likes"] == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_like_unlike_storm_converges(make_user, make_client, tweet_metrics):
    tweet = make_tweet(make_user("storm"), "storm")
    users = _users_with_tokens(40, "storm")
    rng = random.Random(7)
    jobs = [_like_job(make_client, u, tweet.id, rng.choice(["post", "delete"])) for u in users for _ in range(6)]
    rng.shuffle(jobs)

    _in_threads(jobs)

    truth = Like.objects.filter(tweet=tweet).count()
    assert tweet_metrics(tweet.id)["likes"] == truth
    counters.counters_flush()
    assert _stored_counts(tweet.id)["likes"] == truth
    # Idempotent repeats from everyone change nothing.
    _in_threads([_like_job(make_client, u, tweet.id, "delete") for u in users])
    assert tweet_metrics(tweet.id)["likes"] == 0 == Like.objects.filter(tweet=tweet).count()


@pytest.mark.redis
@pytest.mark.django_db
def test_flush_interrupted_after_its_postgres_write_then_rerun_adds_nothing(
    make_user, make_client, tweet_metrics, monkeypatch
):
    tweet = make_tweet(make_user("author"), "flush me")
    for user in _users_with_tokens(5, "f"):
        _like_job(make_client, user, tweet.id)()
    make_client(user).post("/api/v1/views", {"tweet_ids": [str(tweet.id)] * 3}, format="json")

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the PostgreSQL commit and the Redis cleanup")

    monkeypatch.setattr(counters, "_dirty_clear", crash)
    with pytest.raises(RuntimeError):
        counters.counters_flush()
    assert _stored_counts(tweet.id) == {"likes": 5, "retweets": 0, "replies": 0, "quotes": 0, "views": 3}
    slots_before = list(CounterSlot.objects.filter(tweet_id=tweet.id).values())

    monkeypatch.undo()
    assert counters.counters_flush() == 1  # the tweet was still dirty: merged again
    assert _stored_counts(tweet.id) == {"likes": 5, "retweets": 0, "replies": 0, "quotes": 0, "views": 3}
    assert list(CounterSlot.objects.filter(tweet_id=tweet.id).values("likes_p", "views_p")) == [
        {"likes_p": s["likes_p"], "views_p": s["views_p"]} for s in slots_before
    ]
    assert counters.counters_flush() == 0  # and now it is clean
    assert tweet_metrics(tweet.id)["likes"] == 5


@pytest.mark.django_db(transaction=True)
def test_two_flushes_at_once_add_nothing_twice(make_user, make_client, tweet_metrics):
    author = make_user("many")
    tweets = [make_tweet(author, f"tweet {i}") for i in range(30)]
    users = _users_with_tokens(3, "two")
    for i, tweet in enumerate(tweets):
        for user in users[: 1 + i % 3]:
            _like_job(make_client, user, tweet.id)()

    _in_threads([counters.counters_flush, counters.counters_flush], workers=2)
    _in_threads([counters.counters_flush, counters.counters_flush], workers=2)

    for i, tweet in enumerate(tweets):
        assert _stored_counts(tweet.id)["likes"] == 1 + i % 3
        assert tweet_metrics(tweet.id)["likes"] == 1 + i % 3


@pytest.mark.redis
@pytest.mark.django_db
def test_wiped_redis_counts_come_back_exact(make_user, make_client, tweet_metrics, redis_flushdb):
    tweet = make_tweet(make_user("author"), "survive a wipe")
    reply_author = make_user("replier")
    users = _users_with_tokens(7, "w")
    for user in users[:5]:
        _like_job(make_client, user, tweet.id)()
    make_client(users[0]).post("/api/v1/views", {"tweet_ids": [str(tweet.id)] * 4}, format="json")
    counters.counters_flush()
    # Acknowledged but not flushed yet when Redis loses everything:
    for user in users[5:]:
        _like_job(make_client, user, tweet.id)()
    _like_job(make_client, users[0], tweet.id, "delete")()
    make_tweet(reply_author, "a reply", in_reply_to_id=tweet.id)  # counted from its row

    redis_flushdb()

    metrics = tweet_metrics(tweet.id)
    assert metrics["likes"] == 6 == Like.objects.filter(tweet=tweet).count()
    assert metrics["replies"] == 1
    assert metrics["views"] == 4  # the flushed views survive
    assert _like_job(make_client, users[0], tweet.id)()["likes"] == 7
    counters.counters_flush()
    assert _stored_counts(tweet.id) == {"likes": 7, "retweets": 0, "replies": 1, "quotes": 0, "views": 4}
    # Wiped again before anything of the new generation was flushed.
    redis_flushdb()
    assert tweet_metrics(tweet.id)["likes"] == 7
    counters.counters_flush()
    assert _stored_counts(tweet.id)["likes"] == 7


CLOSED_PORT = "redis://127.0.0.1:6390/0"


@pytest.mark.redis
@pytest.mark.django_db
def test_unreachable_redis_still_answers_from_postgres(make_user, make_client, anon_client, settings):
    tweet = make_tweet(make_user("author"), "redis is down")
    bob, carol = _users_with_tokens(2, "down")
    _like_job(make_client, bob, tweet.id)()
    caches = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT}}

    with override_settings(CACHES=caches):
        like = make_client(carol).post(f"/api/v1/tweets/{tweet.id}/like")
        assert like.status_code == 200, like.content
        assert like.json() == {"liked": True, "likes": 2}
        read = anon_client.get(f"/api/v1/tweets/{tweet.id}")
        assert read.status_code == 200
        assert read.json()["metrics"]["likes"] == 2
        batch = anon_client.get(f"/api/v1/tweets?ids={tweet.id}")
        assert batch.status_code == 200 and batch.json()["results"][0]["metrics"]["likes"] == 2
        assert anon_client.get(f"/api/v1/tweets/{tweet.id}/engagement").json()["likes"] == 2
        assert anon_client.get("/api/v1/trending").status_code == 200
        views = make_client(carol).post("/api/v1/views", {"tweet_ids": [str(tweet.id)]}, format="json")
        assert views.status_code == 202
        assert CounterRepair.objects.filter(tweet_id=tweet.id).exists()

    # Redis is back with its old count (1): the drift job recounts the queued tweet.
    counters.redis_breaker_reset()
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}").json()["metrics"]["likes"] == 1
    report = counters.drift_check(tweet_ids=counters.drift_sample(50))
    assert report.repaired == 1
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}").json()["metrics"]["likes"] == 2
    assert not CounterRepair.objects.exists()
