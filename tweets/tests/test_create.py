import unicodedata

import pytest
from django.db import connection

from tweets.models import OutboxEvent, Tweet, TweetContent, TweetVersion
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db

TWEET_FIELDS = {
    "id", "author", "text", "content_hash", "state", "version", "created_at", "edited_at",
    "editable_until", "in_reply_to_id", "quote_of_id", "media", "metrics", "tier",
}  # fmt: skip


def test_post_creates_a_published_tweet_with_every_field(client_alice, user):
    response = client_alice.post("/api/v1/tweets", {"text": "hello #nexus"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == TWEET_FIELDS
    assert isinstance(body["id"], str) and body["id"].isdigit()
    assert body["author"] == {"id": str(user.pk), "username": "alice"}
    assert body["state"] == "published" and body["version"] == 1 and body["tier"] == "hot"
    assert body["content_hash"].startswith("sha256:") and len(body["content_hash"]) == 71
    assert body["created_at"].endswith("Z") and body["editable_until"].endswith("Z")
    assert body["metrics"] == {"likes": 0, "retweets": 0, "replies": 0, "quotes": 0, "views": 0}
    assert response["ETag"] and response["Location"] == f"/api/v1/tweets/{body['id']}"
    assert OutboxEvent.objects.filter(tweet_id=int(body["id"]), type="tweet.created").count() == 1
    assert TweetVersion.objects.filter(tweet_id=int(body["id"])).count() == 1


def test_ids_sort_by_creation_time(user):
    first = make_tweet(user, "one")
    second = make_tweet(user, "two")
    assert second.id > first.id


def test_identical_text_is_stored_once_whoever_posts_it(user, other_user):
    a = make_tweet(user, "same words")
    b = make_tweet(other_user, "same words")

    assert a.content_id == b.content_id
    assert TweetContent.objects.filter(hash=a.content_id).count() == 1


def test_text_is_nfc_normalised_before_counting_and_hashing(client_alice):
    decomposed = unicodedata.normalize("NFD", "é") * 280  # 560 code points, 280 after NFC

    response = client_alice.post("/api/v1/tweets", {"text": decomposed}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["text"] == "é" * 280


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": "x" * 281}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "a\x00b"}, "text"),
        ({}, "text"),
        ({"text": 5, "media_ids": "nope"}, "media_ids"),
        ({"text": "hi", "media_ids": ["1", "2", "3", "4", "5"]}, "media_ids"),
        ({"text": "hi", "media_ids": ["123"]}, "media_ids"),
        ({"text": "hi", "in_reply_to_id": "999"}, "in_reply_to_id"),
        ({"text": "hi", "quote_of_id": "abc"}, "quote_of_id"),
        ({"text": "hi", "draft": "maybe"}, "draft"),
    ],
)
def test_bad_fields_get_drf_field_errors(client_alice, payload, field):
    response = client_alice.post("/api/v1/tweets", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert Tweet.objects.count() == 0


def test_malformed_json_is_400(client_alice):
    response = client_alice.post("/api/v1/tweets", data="{bad", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_body_that_is_neither_json_nor_form_is_415(client_alice):
    response = client_alice.post("/api/v1/tweets", data="hello", content_type="text/plain")
    assert response.status_code == 415


def test_form_data_is_accepted(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": "from a form"})
    assert response.status_code == 201


def test_anonymous_post_is_401(anon_client):
    response = anon_client.post("/api/v1/tweets", {"text": "hi"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_scheme_is_accepted_as_well_as_bearer(make_client, user):
    client = make_client(user)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/tweets", {"text": "hi"}, format="json").status_code == 201


def test_bad_token_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert anon_client.post("/api/v1/tweets", {"text": "hi"}, format="json").status_code == 401


def test_reply_and_quote_point_at_their_parent(client_alice, user):
    parent = make_tweet(user, "parent")

    reply = client_alice.post("/api/v1/tweets", {"text": "re", "in_reply_to_id": str(parent.id)}, format="json")
    quote = client_alice.post("/api/v1/tweets", {"text": "qt", "quote_of_id": str(parent.id)}, format="json")

    assert reply.json()["in_reply_to_id"] == str(parent.id)
    assert quote.json()["quote_of_id"] == str(parent.id)


def test_history_records_who_created_the_tweet(user):
    tweet = make_tweet(user, "audited")
    record = tweet.history.get()
    assert record.history_user == user and record.history_type == "+"


@pytest.mark.django_db(transaction=True)  # commit for real: on_commit work is part of the path
def test_posting_is_a_bounded_number_of_queries(client_alice, user, django_assert_max_num_queries):
    client_alice.post("/api/v1/tweets", {"text": "warm up the token"}, format="json")
    with django_assert_max_num_queries(12) as captured:
        response = client_alice.post("/api/v1/tweets", {"text": "counted #q"}, format="json")
    assert response.status_code == 201
    assert not any("SELECT" in q["sql"] and "tweets_tweet" in q["sql"].split("FROM")[-1][:40] for q in captured)
    if connection.vendor == "postgresql":
        # The whole create is one statement, in autocommit: no BEGIN, no COMMIT.
        assert [q["sql"].split()[0] for q in captured] == ["WITH"], [q["sql"][:60] for q in captured]
        # ... and prepared on the server once this connection has used it (DB_PREPARED_STATEMENTS).
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%INTO tweets_tweet %%'")
            assert cursor.fetchone()[0] == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # real commits: the after-commit writes run
def test_posting_is_two_redis_round_trips(client_alice, request):
    from engagement import counters
    from tweets.cache import tweet_cache_get_many

    client_alice.post("/api/v1/tweets", {"text": "warm up the token"}, format="json")
    sends = request.getfixturevalue("redis_round_trips")  # counted from here on, after the warm-up
    response = client_alice.post("/api/v1/tweets", {"text": "counted round trips"}, format="json")
    assert response.status_code == 201
    # Token and rate count together; after the commit, the cached record and the
    # started counters together (nexus.redis_batch).
    assert len(sends) == 2, sends
    tweet_id = int(response.json()["id"])
    assert tweet_id in tweet_cache_get_many([tweet_id])
    assert counters.loaded_here(tweet_id)
    assert counters.counts_get_many([tweet_id])[tweet_id]["likes"] == 0


def _rows_written(tweet_id: int) -> dict:
    """Every row a create writes, minus what must differ between two tweets."""
    from django.forms.models import model_to_dict

    from lifecycle.models import LifecycleTask
    from tweets.models import IdempotencyKey, TweetHashtag

    def rows(model, **lookup):
        drop = {"id", "tweet", "tweet_id", "txid", "at"}  # "at": the clock when the ORM wrote it
        return sorted(
            (
                sorted((k, str(v)) for k, v in model_to_dict(r).items() if k not in drop)
                for r in model.objects.filter(**lookup)
            ),
        )

    tweet = Tweet.objects.get(pk=tweet_id)
    history = list(Tweet.history.filter(id=tweet_id).values())
    for row in history:
        for volatile in ("id", "history_id", "history_date"):
            row.pop(volatile)
    return {
        "tweet": sorted((k, str(v)) for k, v in model_to_dict(tweet).items() if k not in {"id", "search_vector"}),
        "history": history,
        "versions": rows(TweetVersion, tweet_id=tweet_id),
        "events": rows(OutboxEvent, tweet_id=tweet_id),
        "tags": rows(TweetHashtag, tweet_id=tweet_id),
        "queue": rows(LifecycleTask, tweet_id=tweet_id),
        "keys": rows(IdempotencyKey, tweet_id=tweet_id),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("draft", [False, True])
def test_the_one_statement_create_writes_what_the_orm_path_writes(user, draft):
    """PostgreSQL creates a tweet with one statement (TWEET_CREATE_SQL); the
    embedded default writes the same rows through the ORM. Both, side by side,
    on PostgreSQL: every row and column must agree."""
    from django.db import transaction

    from analytics.models import HashtagStat
    from api.effects import TWEET_EFFECTS
    from tweets import services

    parent = make_tweet(user, "parent")
    written = {}
    for path in ("one_statement", "orm"):
        tweet = Tweet(
            author=user,
            content=TweetContent(hash=services.content_hash("same #Words #tags"), text="same #Words #tags"),
            media_ids=[],
            state="draft" if draft else "published",
            version=1,
            published_version=None if draft else 1,
            created_at=parent.created_at,
            published_at=None if draft else parent.created_at,
            in_reply_to_id=parent.id,
            quote_of_id=None,
        )
        tags = [] if draft else services.hashtags_extract(tweet.content.text)
        with transaction.atomic():
            getattr(services, f"_tweet_insert_{path}")(
                tweet, tags=tags, idempotency_key=f"key-{path}", effects=TWEET_EFFECTS
            )
        written[path] = _rows_written(tweet.id)
        for k in written[path]["keys"]:
            k.remove(("key", f"key-{path}"))

    assert written["one_statement"] == written["orm"]
    assert len(written["orm"]["history"]) == 1 and written["orm"]["history"][0]["history_user_id"] == user.pk
    assert len(written["orm"]["versions"]) == len(written["orm"]["events"]) == len(written["orm"]["keys"]) == 1
    assert len(written["orm"]["tags"]) == (0 if draft else 2)
    assert len(written["orm"]["queue"]) == (0 if draft else 1)
    assert Tweet.objects.filter(content_id=services.content_hash("same #Words #tags")).count() == 2
    counted = dict(HashtagStat.objects.values_list("tag", "tweets"))
    assert counted == ({} if draft else {"words": 2, "tags": 2})  # each path counted its tags once
