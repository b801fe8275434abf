"""Each endpoint's happy path and its 400/401/404 siblings, on whichever
backend the run is configured with (Redis + PostgreSQL, or the embedded one)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from api.services import tweet_delete
from engagement import counters
from engagement.models import Like, TweetCounters
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def _like(client, tweet_id, method="post"):
    return getattr(client, method)(f"/api/v1/tweets/{tweet_id}/like")


def test_like_is_idempotent_and_counted(client_alice, client_bob, tweet, tweet_metrics):
    first = _like(client_bob, tweet.id)
    assert first.status_code == 200
    assert first.json() == {"liked": True, "likes": 1}
    assert _like(client_bob, tweet.id).json() == {"liked": True, "likes": 1}
    assert _like(client_alice, tweet.id).json() == {"liked": True, "likes": 2}
    assert tweet_metrics(tweet.id)["likes"] == 2

    assert _like(client_bob, tweet.id, "delete").json() == {"liked": False, "likes": 1}
    assert _like(client_bob, tweet.id, "delete").json() == {"liked": False, "likes": 1}
    assert tweet_metrics(tweet.id)["likes"] == 1
    assert Like.objects.filter(tweet=tweet).count() == 1


def test_like_needs_a_token(anon_client, tweet):
    assert _like(anon_client, tweet.id).status_code == 401
    assert _like(anon_client, tweet.id, "delete").status_code == 401


@pytest.mark.parametrize("raw", ["123456789", "abc", "99999999999999999999"])
def test_like_unknown_tweet_is_404(client_bob, raw):
    assert _like(client_bob, raw).status_code == 404


def test_like_invisible_tweets_is_404(client_alice, client_bob, user):
    draft = make_tweet(user, "secret draft", draft=True)
    deleted = make_tweet(user, "soon gone")
    tweet_delete(tweet_id=deleted.id, actor=user)
    assert _like(client_bob, draft.id).status_code == 404
    assert _like(client_bob, deleted.id).status_code == 404
    assert client_bob.post(f"/api/v1/tweets/{deleted.id}/retweet").status_code == 404
    assert Like.objects.count() == 0


def test_retweet_round_trip(client_alice, client_bob, anon_client, tweet, tweet_metrics):
    url = f"/api/v1/tweets/{tweet.id}/retweet"
    assert client_bob.post(url).json() == {"retweeted": True, "retweets": 1}
    assert client_bob.post(url).json() == {"retweeted": True, "retweets": 1}
    assert client_alice.post(url).json() == {"retweeted": True, "retweets": 2}
    assert client_alice.delete(url).json() == {"retweeted": False, "retweets": 1}
    assert tweet_metrics(tweet.id)["retweets"] == 1
    assert anon_client.post(url).status_code == 401
    assert client_bob.post("/api/v1/tweets/42/retweet").status_code == 404


def test_views_count_each_id(client_bob, anon_client, tweet, user, tweet_metrics):
    other = make_tweet(user, "second")
    response = client_bob.post(
        "/api/v1/views", {"tweet_ids": [str(tweet.id), str(tweet.id), str(other.id), "12345"]}, format="json"
    )
    assert response.status_code == 202
    assert response.json() == {"counted": 3}
    assert tweet_metrics(tweet.id)["views"] == 2
    assert tweet_metrics(other.id)["views"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"tweet_ids": [str(i) for i in range(1, 102)]},
        {"tweet_ids": []},
        {"tweet_ids": "1,2"},
        {"tweet_ids": ["abc"]},
        {},
    ],
)
def test_views_bad_bodies_are_400(client_bob, body):
    response = client_bob.post("/api/v1/views", body, format="json")
    assert response.status_code == 400
    assert "tweet_ids" in response.json()["fields"]


def test_views_need_a_token(anon_client, tweet):
    assert anon_client.post("/api/v1/views", {"tweet_ids": [str(tweet.id)]}, format="json").status_code == 401


def test_engagement_counts_velocity_and_series(client_alice, client_bob, anon_client, tweet):
    _like(client_alice, tweet.id)
    _like(client_bob, tweet.id)
    client_bob.post(f"/api/v1/tweets/{tweet.id}/retweet")

    response = anon_client.get(f"/api/v1/tweets/{tweet.id}/engagement")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("likes", "retweets", "replies", "quotes", "views")} == {
        "likes": 2,
        "retweets": 1,
        "replies": 0,
        "quotes": 0,
        "views": 0,
    }
    assert body["velocity"]["likes"] == {"per_minute_5m": 0.4, "per_minute_1h": round(2 / 60, 4)}
    assert body["velocity"]["retweets"]["per_minute_5m"] == 0.2
    assert len(body["series"]) == 60
    assert sum(point["likes"] for point in body["series"]) == 2
    assert body["series"][-1]["minute"] > body["series"][0]["minute"]


def test_engagement_of_unknown_tweet_is_404(anon_client):
    assert anon_client.get("/api/v1/tweets/777/engagement").status_code == 404


def test_trending_ranks_by_velocity(client_alice, client_bob, anon_client, user):
    quiet = make_tweet(user, "quiet")
    busy = make_tweet(user, "busy")
    gone = make_tweet(user, "busy but deleted")
    for client in (client_alice, client_bob):
        _like(client, busy.id)
        _like(client, gone.id)
    _like(client_bob, quiet.id)
    tweet_delete(tweet_id=gone.id, actor=user)

    response = anon_client.get("/api/v1/trending?window=300&limit=20")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["tweet"]["id"] for r in results] == [str(busy.id), str(quiet.id)]
    assert results[0]["score"] == pytest.approx(2 / 5)
    assert results[0]["tweet"]["metrics"]["likes"] == 2
    assert len(anon_client.get("/api/v1/trending?limit=1").json()["results"]) == 1


@pytest.mark.parametrize(
    "query", ["window=0", "window=abc", "window=99999", "limit=0", "limit=1000", "limit=x", "window=59"]
)
def test_trending_bad_parameters_are_400(anon_client, query):
    response = anon_client.get(f"/api/v1/trending?{query}")
    assert response.status_code == 400
    assert set(response.json()["fields"]) & {"window", "limit"}


def test_liked_by_is_cursor_paginated_newest_first(make_user, make_client, anon_client, tweet):
    likers = [make_user(f"fan{i}") for i in range(3)]
    for liker in likers:
        _like(make_client(liker), tweet.id)

    first = anon_client.get(f"/api/v1/tweets/{tweet.id}/liked_by?limit=2")
    assert first.status_code == 200
    page = first.json()
    assert [r["username"] for r in page["results"]] == ["fan2", "fan1"]
    assert page["results"][0]["id"] == str(likers[2].id)
    second = anon_client.get(page["next"]).json()
    assert [r["username"] for r in second["results"]] == ["fan0"]
    assert second["next"] is None


def test_liked_by_bad_cursor_and_unknown_tweet(anon_client, tweet):
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}/liked_by?cursor=%%%").status_code == 400
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}/liked_by?limit=0").status_code == 400
    assert anon_client.get("/api/v1/tweets/31337/liked_by").status_code == 404


def test_replies_and_quotes_count_and_uncount(other_user, tweet, tweet_metrics, django_capture_on_commit_callbacks):
    # One commit per tweet, as in production (each request commits on its own).
    with django_capture_on_commit_callbacks(execute=True):
        reply = make_tweet(other_user, "a reply", in_reply_to_id=tweet.id)
    with django_capture_on_commit_callbacks(execute=True):
        make_tweet(other_user, "a quote", quote_of_id=tweet.id)
    with django_capture_on_commit_callbacks(execute=True):
        make_tweet(other_user, "a draft reply", in_reply_to_id=tweet.id, draft=True)
    assert tweet_metrics(tweet.id)["replies"] == 1
    assert tweet_metrics(tweet.id)["quotes"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        tweet_delete(tweet_id=reply.id, actor=other_user)
    assert tweet_metrics(tweet.id)["replies"] == 0
    assert tweet_metrics(tweet.id)["quotes"] == 1


def test_flush_writes_the_counters_table(client_bob, tweet):
    _like(client_bob, tweet.id)
    client_bob.post("/api/v1/views", {"tweet_ids": [str(tweet.id)]}, format="json")
    assert counters.counters_flush() >= 1
    row = TweetCounters.objects.get(tweet_id=tweet.id)
    assert (row.likes, row.views) == (1, 1)
    counters.counters_flush()
    row.refresh_from_db()
    assert (row.likes, row.views) == (1, 1)


def test_drift_check_reports_and_repairs_only_when_asked(client_bob, other_user, tweet, tweet_metrics, capsys):
    _like(client_bob, tweet.id)
    # A fact whose counter update never landed (e.g. the process died between them).
    Like.objects.create(user=other_user.__class__.objects.create(username="ghost"), tweet=tweet)
    assert tweet_metrics(tweet.id)["likes"] == 1

    # By default the check only reports.
    call_command("engagement_drift_check", "--tweet", str(tweet.id))
    out = capsys.readouterr().out
    assert f"tweet {tweet.id} likes: live 1 ≠ facts 2 (not repaired: run with --repair)" in out
    assert "drifted 1, repaired 0" in out
    assert tweet_metrics(tweet.id)["likes"] == 1

    call_command("engagement_drift_check", "--tweet", str(tweet.id), "--repair")
    out = capsys.readouterr().out
    assert f"tweet {tweet.id} likes: live 1 ≠ facts 2 (repaired)" in out
    assert "drifted 1, repaired 1" in out
    assert tweet_metrics(tweet.id)["likes"] == 2

    call_command("engagement_drift_check", "--tweet", str(tweet.id))
    assert "drifted 0" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["warm", "cold"])
def test_likes_on_aged_tweets_still_count(client_bob, client_alice, user, target, tweet_metrics):
    from datetime import timedelta

    from django.utils import timezone

    from lifecycle.services import tweet_migrate
    from tweets.models import Tweet

    aged = make_tweet(user, f"old news, soon {target}")
    Tweet.objects.filter(pk=aged.pk).update(published_at=timezone.now() - timedelta(days=100))
    assert tweet_migrate(tweet_id=aged.id, target=target) == "migrated"

    assert _like(client_bob, aged.id).json() == {"liked": True, "likes": 1}
    assert _like(client_alice, aged.id).json() == {"liked": True, "likes": 2}
    assert tweet_metrics(aged.id) == {"likes": 2, "retweets": 0, "replies": 0, "quotes": 0, "views": 0}


@pytest.mark.postgres
@pytest.mark.redis
def test_a_like_on_a_loaded_tweet_checks_visibility_in_its_own_statement(
    client_alice, client_bob, make_user, make_client, user, django_assert_num_queries
):
    """Once this process has a tweet's counters loaded, a like is one statement
    that checks visibility and writes the fact: it must still refuse a tweet
    deleted since, and write nothing."""
    tweet = make_tweet(user, "liked, then deleted")
    assert _like(client_bob, tweet.id).status_code == 200  # loads the counters here
    assert counters.loaded_here(tweet.id)
    carol = make_client(make_user("carol"))
    carol.get(f"/api/v1/tweets/{tweet.id}")  # carol's token is cached from here on
    with django_assert_num_queries(1) as captured:
        assert _like(carol, tweet.id).json()["likes"] == 2
    assert captured.captured_queries[0]["sql"].startswith("WITH target AS")

    tweet_delete(tweet_id=tweet.id, actor=user)
    dave = make_client(make_user("dave"))
    assert _like(dave, tweet.id).status_code == 404
    assert client_bob.delete(f"/api/v1/tweets/{tweet.id}/like").status_code == 404
    assert Like.objects.filter(tweet_id=tweet.id).count() == 2  # bob's and carol's, nothing for dave
