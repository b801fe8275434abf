import pytest
from django.conf import settings
from django.core.cache import cache

from api.services import tweet_delete, tweet_remove
from tweets.cache import tweet_cache_key
from tweets.models import Tweet
from tweets.selectors import authors_get_many
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def test_get_returns_the_tweet_with_an_etag_and_304_on_match(anon_client, user):
    tweet = make_tweet(user, "readable")

    response = anon_client.get(f"/api/v1/tweets/{tweet.id}")
    assert response.status_code == 200
    assert response.json()["text"] == "readable"
    etag = response["ETag"]

    cached = anon_client.get(f"/api/v1/tweets/{tweet.id}", HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304 and cached["ETag"] == etag
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}", HTTP_IF_NONE_MATCH='"1-other"').status_code == 200


@pytest.mark.parametrize("tweet_id", ["123", "abc", "9" * 30, "-1"])
def test_unknown_or_malformed_ids_are_404(anon_client, tweet_id):
    assert anon_client.get(f"/api/v1/tweets/{tweet_id}").status_code == 404


def test_deleted_and_removed_tweets_are_404_for_everyone(anon_client, client_alice, user, moderator):
    deleted = make_tweet(user, "deleted")
    removed = make_tweet(user, "removed")
    anon_client.get(f"/api/v1/tweets/{deleted.id}")  # warm the cache first

    tweet_delete(tweet_id=deleted.id, actor=user)
    tweet_remove(tweet_id=removed.id, moderator=moderator, reason="spam")

    for tweet in (deleted, removed):
        assert anon_client.get(f"/api/v1/tweets/{tweet.id}").status_code == 404
        assert client_alice.get(f"/api/v1/tweets/{tweet.id}").status_code == 404


def test_someone_elses_draft_is_404_but_the_author_sees_it(anon_client, client_alice, client_bob, user):
    draft = make_tweet(user, "secret", draft=True)

    assert client_alice.get(f"/api/v1/tweets/{draft.id}").status_code == 200
    assert client_bob.get(f"/api/v1/tweets/{draft.id}").status_code == 404
    assert anon_client.get(f"/api/v1/tweets/{draft.id}").status_code == 404


def test_a_cached_hot_read_touches_no_database_row(anon_client, user, django_assert_num_queries):
    tweet = make_tweet(user, "cached")
    anon_client.get(f"/api/v1/tweets/{tweet.id}")
    assert cache.get(tweet_cache_key(tweet.id)) is not None

    # Without Redis the live counters are rows in the database (one query).
    with django_assert_num_queries(0 if settings.REDIS_URL else 1):
        response = anon_client.get(f"/api/v1/tweets/{tweet.id}")
    assert response.status_code == 200


def test_batch_returns_in_the_order_asked_and_leaves_out_the_invisible(anon_client, user):
    a, b, c = (make_tweet(user, t) for t in ("a", "b", "c"))
    draft = make_tweet(user, "draft", draft=True)
    tweet_delete(tweet_id=c.id, actor=user)

    response = anon_client.get(f"/api/v1/tweets?ids={b.id},999,{a.id},{c.id},{draft.id},{b.id}")

    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [str(b.id), str(a.id)]


@pytest.mark.django_db(transaction=True)  # commit for real: on_commit work is part of the path
def test_batch_uses_one_cache_round_trip_and_one_query_for_misses(anon_client, user, django_assert_max_num_queries):
    tweets = [make_tweet(user, f"t{i}") for i in range(20)]
    ids = ",".join(str(t.id) for t in tweets)
    with django_assert_max_num_queries(1):
        response = anon_client.get(f"/api/v1/tweets?ids={ids}")
    assert len(response.json()["results"]) == 20


@pytest.mark.parametrize("ids", ["", "abc", "1,x", ",".join(str(i) for i in range(1, 102))])
def test_bad_batch_requests_are_400(anon_client, ids):
    response = anon_client.get(f"/api/v1/tweets?ids={ids}")
    assert response.status_code == 400
    assert "ids" in response.json()["fields"]


def test_batch_without_ids_is_400(anon_client):
    assert anon_client.get("/api/v1/tweets").status_code == 400


@pytest.mark.redis
def test_a_cached_read_is_two_redis_round_trips_and_unknown_ids_get_no_counters(client_alice, request):
    from django_redis import get_redis_connection

    from engagement import counters

    tweet_id = client_alice.post("/api/v1/tweets", {"text": "read me"}, format="json").json()["id"]
    unknown = str(int(tweet_id) + 1)
    assert client_alice.get(f"/api/v1/tweets/{tweet_id}").status_code == 200  # cached and counted from here on
    sends = request.getfixturevalue("redis_round_trips")  # counted from here on, after the warm-up
    response = client_alice.get(f"/api/v1/tweets?ids={tweet_id},{unknown}")
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [tweet_id]
    # The token; then the cached record and the live counts together.
    assert len(sends) == 2, sends
    assert not get_redis_connection("default").exists(counters._hash_key(int(unknown)))


def test_authors_get_many_counts_published_tweets_that_are_not_gone(user, make_user):
    make_tweet(user, "one")
    last = make_tweet(user, "two")
    make_tweet(user, "a draft", draft=True)
    gone = make_tweet(user, "gone, and newer")
    tweet_delete(tweet_id=gone.id, actor=user)
    quiet = make_user("quiet")

    authors = authors_get_many([user.pk, quiet.pk, 10**12])

    assert set(authors) == {user.pk, quiet.pk}
    assert authors[user.pk] == {
        "username": "alice",
        "joined": user.date_joined,
        "statuses": 2,
        "last_published_at": Tweet.objects.get(pk=last.pk).published_at,
    }
    assert authors[quiet.pk]["statuses"] == 0 and authors[quiet.pk]["last_published_at"] is None
