import pytest

from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def test_timeline_is_newest_first_and_cursor_paginated(anon_client, user, other_user):
    tweets = [make_tweet(user, f"post {i}") for i in range(5)]
    make_tweet(other_user, "not alice")
    make_tweet(user, "a draft", draft=True)

    seen: list[str] = []
    url = "/api/v1/users/alice/tweets?limit=2"
    while url:
        page = anon_client.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url = page["next"]

    assert seen == [str(t.id) for t in reversed(tweets)]


def test_timeline_errors(anon_client):
    assert anon_client.get("/api/v1/users/nobody/tweets").status_code == 404
    assert anon_client.get("/api/v1/users/alice/tweets?cursor=%%%").status_code in (400, 404)


def test_bad_cursor_and_limit_are_400(anon_client, user):
    assert anon_client.get("/api/v1/users/alice/tweets?cursor=garbage").status_code == 400
    assert anon_client.get("/api/v1/users/alice/tweets?limit=0").status_code == 400
    assert anon_client.get("/api/v1/users/alice/tweets?limit=x").status_code == 400


def test_search_finds_words_hashtags_and_authors_newest_first(anon_client, user, other_user):
    old = make_tweet(user, "Launching the #Nexus engine")
    new = make_tweet(other_user, "engine room #nexus")
    make_tweet(user, "unrelated words")
    make_tweet(user, "engine draft", draft=True)

    def ids(q):
        response = anon_client.get("/api/v1/search", {"q": q})
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()["results"]]

    assert ids("engine") == [str(new.id), str(old.id)]
    assert ids("#NEXUS") == [str(new.id), str(old.id)]
    assert ids("engine from:alice") == [str(old.id)]
    assert ids("nothing-matches-this") == []


def test_a_tweet_is_findable_as_soon_as_it_is_posted(client_alice, anon_client):
    client_alice.post("/api/v1/tweets", {"text": "fresh kiwi"}, format="json")
    assert len(anon_client.get("/api/v1/search", {"q": "kiwi"}).json()["results"]) == 1


def test_search_follows_edits(client_alice, anon_client, user):
    tweet = make_tweet(user, "apple")
    client_alice.patch(f"/api/v1/tweets/{tweet.id}", {"text": "banana"}, format="json")
    assert anon_client.get("/api/v1/search", {"q": "apple"}).json()["results"] == []
    assert len(anon_client.get("/api/v1/search", {"q": "banana"}).json()["results"]) == 1


@pytest.mark.parametrize("q", ["", "   ", "#", "x" * 501, "from:a from:b"])
def test_bad_search_queries_are_400(anon_client, q):
    assert anon_client.get("/api/v1/search", {"q": q}).status_code == 400


@pytest.mark.postgres
def test_the_search_index_keeps_a_short_pending_list():
    """Every search scans GIN's whole pending list: it is capped well below the
    server's 4 MB default (migration 0006)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'tweet_search_vector_gin'")
        (options,) = cursor.fetchone()
    assert "gin_pending_list_limit=256" in (options or [])
