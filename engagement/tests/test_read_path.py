"""The read path: metrics for many tweets without a query per tweet, the beat
jobs wired in, the admin read-only for moderators."""

from __future__ import annotations

import pytest
from django.conf import settings

from engagement import counters, tasks
from engagement.models import TweetCounters
from engagement.selectors import counters_flush_lag, metrics_for_many
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def test_metrics_for_many_costs_no_query_per_tweet(user, make_client, other_user, django_assert_max_num_queries):
    tweets = [make_tweet(user, f"t{i}") for i in range(25)]
    client = make_client(other_user)
    for tweet in tweets[::2]:
        client.post(f"/api/v1/tweets/{tweet.id}/like")
    ids = [t.id for t in tweets]
    metrics_for_many(ids)  # first use may rebuild from PostgreSQL, in one batch

    # Then: one Redis pipeline (no query at all), or one GROUP BY on the database backend.
    with django_assert_max_num_queries(0 if counters.uses_redis() else 1):
        metrics = metrics_for_many(ids)
    assert [metrics[i]["likes"] for i in ids] == [1 if n % 2 == 0 else 0 for n in range(25)]


def test_beat_runs_flush_and_drift_with_expiry():
    schedule = settings.CELERY_BEAT_SCHEDULE
    flush = schedule["engagement-flush-counters"]
    assert flush["task"] == "engagement.tasks.flush_counters"
    assert flush["schedule"].total_seconds() == settings.NEXUS_COUNTER_FLUSH_SECONDS
    assert 0 < flush["options"]["expires"] <= settings.NEXUS_COUNTER_FLUSH_SECONDS
    drift = schedule["engagement-drift-check"]
    assert drift["task"] == "engagement.tasks.drift_check"
    assert 0 < drift["options"]["expires"] <= drift["schedule"].total_seconds()


def test_flush_task_through_celery(client_bob, tweet):
    client_bob.post(f"/api/v1/tweets/{tweet.id}/like")
    tasks.flush_counters.delay()
    assert TweetCounters.objects.get(tweet_id=tweet.id).likes == 1
    report = tasks.drift_check.delay().get()
    assert report["drifted"] == 0 and report["checked"] >= 1


def test_moderators_read_counters_but_cannot_change_them(moderator, client_bob, tweet, client):
    client_bob.post(f"/api/v1/tweets/{tweet.id}/like")
    counters.counters_flush()
    client.force_login(moderator)
    assert client.get("/admin/engagement/tweetcounters/").status_code == 200
    assert client.get("/admin/engagement/like/").status_code == 200
    assert client.get("/admin/engagement/tweetcounters/add/").status_code == 403
    row = client.get(f"/admin/engagement/tweetcounters/{tweet.id}/change/")
    assert row.status_code == 200 and b"Save" not in row.content


def test_flush_works_through_the_backlog_in_batches(user, client_bob):
    tweets = [make_tweet(user, f"batch {i}") for i in range(5)]
    for tweet in tweets:
        client_bob.post(f"/api/v1/tweets/{tweet.id}/like")

    assert counters.counters_flush(batch=2, max_batches=10) == 5
    assert sorted(TweetCounters.objects.filter(likes=1).values_list("tweet_id", flat=True)) == sorted(
        t.id for t in tweets
    )
    assert counters.counters_flush(batch=2) == 0


def test_flush_lag_counts_waiting_tweets(user, client_bob):
    tweets = [make_tweet(user, f"lag {i}") for i in range(3)]
    for tweet in tweets:
        client_bob.post(f"/api/v1/tweets/{tweet.id}/like")
    assert counters_flush_lag()["pending_tweets"] == 3
    assert counters_flush_lag()["lag_seconds"] >= 0
    counters.counters_flush()
    assert counters_flush_lag() == {"pending_tweets": 0, "lag_seconds": 0.0}
