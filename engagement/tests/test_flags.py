"""The caller's like/retweet flags served from Redis (engagement.flags): the
facts' answer after every write, after a wiped Redis and an unreachable one,
and never an answer a reader took from the facts before a write committed.
Real PostgreSQL and Redis; transactional, so the writes' after-commit steps run."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_redis import get_redis_connection

from engagement import counters, flags, services
from engagement.models import CounterRepair
from tweets.tests.factories import make_tweet

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLOSED_PORT = "redis://127.0.0.1:6390/0"


def _cached(user_id: int, tweet_id: int) -> bytes | None:
    """The answer Redis holds for (user, tweet), None when it holds none."""
    return get_redis_connection("default").hget(flags._hash_key(tweet_id), str(user_id))


def _loaded(tweet_id: int) -> bool:
    return get_redis_connection("default").hget(flags._hash_key(tweet_id), "_l") == b"1"


def _flags(user, *tweets) -> tuple[set[int], set[int]]:
    return flags.flags_get_many(user_id=user.pk, tweet_ids=[t.id for t in tweets])


def test_flags_follow_likes_unlikes_and_retweets(make_user):
    author, reader = make_user("author"), make_user("reader")
    first, second = make_tweet(author, "one"), make_tweet(author, "two")
    assert _flags(reader, first, second) == (set(), set())
    assert _loaded(first.id) and _cached(reader.pk, first.id) is None  # loaded: nobody engaged

    services.like_set(user=reader, tweet_id=first.id, liked=True)
    services.retweet_set(user=reader, tweet_id=second.id, retweeted=True)
    assert _cached(reader.pk, first.id) == b"?"  # each write marks its pair unknown
    assert _flags(reader, first, second) == ({first.id}, {second.id})
    assert _cached(reader.pk, first.id) == b"1" and _cached(reader.pk, second.id) == b"2"
    assert _flags(reader, first, second) == ({first.id}, {second.id})  # now from Redis

    services.like_set(user=reader, tweet_id=first.id, liked=False)
    services.retweet_set(user=reader, tweet_id=first.id, retweeted=True)
    assert _flags(reader, first, second) == (set(), {first.id, second.id})
    assert _flags(author, first, second) == (set(), set())  # per user


def test_a_tweet_loads_every_users_flags_at_once(make_user):
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "loaded")
    fans = [make_user(f"fan{i}") for i in range(3)]
    for fan in fans[:2]:
        services.like_set(user=fan, tweet_id=tweet.id, liked=True)
    services.retweet_set(user=fans[1], tweet_id=tweet.id, retweeted=True)
    get_redis_connection("default").delete(flags._hash_key(tweet.id))  # as if it expired

    assert _flags(reader, tweet) == (set(), set())
    assert _loaded(tweet.id)
    assert [_cached(f.pk, tweet.id) for f in fans] == [b"1", b"3", None]
    assert _flags(fans[1], tweet) == ({tweet.id}, {tweet.id})


def test_flags_come_back_from_the_facts_after_a_wiped_redis(make_user, redis_flushdb):
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "wiped")
    services.like_set(user=reader, tweet_id=tweet.id, liked=True)
    assert _flags(reader, tweet) == ({tweet.id}, set())

    redis_flushdb()
    assert _flags(reader, tweet) == ({tweet.id}, set())
    assert _cached(reader.pk, tweet.id) == b"1"
    services.like_set(user=reader, tweet_id=tweet.id, liked=False)
    redis_flushdb()
    assert _flags(reader, tweet) == (set(), set())
    assert _loaded(tweet.id)


def test_a_load_never_stores_what_the_facts_said_before_a_write(make_user, monkeypatch):
    """The reader reads the tweet's facts (nobody liked it), then a like
    commits, then the reader would load its answer: the like refuses it."""
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "race")
    facts = flags.tweet_facts

    def facts_then_a_like(tweet_ids, *, limit):
        rows = facts(tweet_ids, limit=limit)
        monkeypatch.setattr(flags, "tweet_facts", facts)
        services.like_set(user=reader, tweet_id=tweet.id, liked=True)  # commits after the reader's query
        return rows

    monkeypatch.setattr(flags, "tweet_facts", facts_then_a_like)
    assert _flags(reader, tweet) == (set(), set())  # what the facts said when read
    assert not _loaded(tweet.id)
    assert _flags(reader, tweet) == ({tweet.id}, set())


def test_a_pair_never_stores_what_the_facts_said_before_a_write(make_user, monkeypatch):
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "race")
    services.like_set(user=reader, tweet_id=tweet.id, liked=True)  # the pair is unknown now
    facts = flags.flags_from_facts

    def facts_then_an_unlike(**kwargs):
        answer = facts(**kwargs)
        monkeypatch.setattr(flags, "flags_from_facts", facts)
        services.like_set(user=reader, tweet_id=tweet.id, liked=False)  # commits after the reader's query
        return answer

    monkeypatch.setattr(flags, "flags_from_facts", facts_then_an_unlike)
    assert _flags(reader, tweet) == ({tweet.id}, set())  # what the facts said when read
    assert _cached(reader.pk, tweet.id) == b"?"
    assert _flags(reader, tweet) == (set(), set())


def test_a_write_in_flight_keeps_answers_out_of_redis(make_user):
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "in flight")
    flags.flags_write_begin(user_id=reader.pk, tweet_id=tweet.id)  # its writer died, say
    assert _flags(reader, tweet) == (set(), set())
    assert _cached(reader.pk, tweet.id) == b"?"  # read from the facts, not stored
    services.like_set(user=reader, tweet_id=tweet.id, liked=True)
    assert _flags(reader, tweet) == ({tweet.id}, set())
    assert _flags(make_user("other"), tweet) == (set(), set())  # loads the tweet, the pair stays unknown
    assert _loaded(tweet.id) and _cached(reader.pk, tweet.id) == b"?"
    assert _flags(reader, tweet) == ({tweet.id}, set())
    flags.flags_write_end(user_id=reader.pk, tweet_id=tweet.id)
    assert _flags(reader, tweet) == ({tweet.id}, set())
    assert _cached(reader.pk, tweet.id) == b"1"


def test_a_write_redis_missed_is_dropped_by_the_drift_check(make_user, settings):
    author, reader = make_user("author"), make_user("reader")
    tweet = make_tweet(author, "outage")
    services.like_set(user=reader, tweet_id=tweet.id, liked=True)
    assert _flags(reader, tweet) == ({tweet.id}, set())
    caches = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT}}

    with override_settings(CACHES=caches):
        services.like_set(user=reader, tweet_id=tweet.id, liked=False)
        assert _flags(reader, tweet) == (set(), set())  # from the facts while Redis is away
        assert CounterRepair.objects.filter(tweet_id=tweet.id).exists()

    # Redis is back with the answer it had (liked): the drift check drops it.
    counters.redis_breaker_reset()
    services.drift_check(tweet_ids=[tweet.id])
    assert _cached(reader.pk, tweet.id) is None
    assert _flags(reader, tweet) == (set(), set())


def test_a_much_liked_tweet_stores_its_readers_one_by_one(make_user, monkeypatch):
    author = make_user("author")
    tweet = make_tweet(author, "read by many")
    readers = [make_user(f"reader{i}") for i in range(3)]
    for reader in readers[:2]:
        services.like_set(user=reader, tweet_id=tweet.id, liked=True)
    monkeypatch.setattr(flags, "LOAD_MAX_FACTS", 1)
    assert _flags(readers[2], tweet) == (set(), set())
    assert _cached(readers[2].pk, tweet.id) == b"0"
    assert get_redis_connection("default").hget(flags._hash_key(tweet.id), "_l") == b"0"  # not loaded, not tried again
    assert _flags(readers[0], tweet) == ({tweet.id}, set())
    assert _cached(readers[0].pk, tweet.id) == b"1"
    # A full hash stores no more answers; they are read from the facts.
    monkeypatch.setattr(flags, "FLAGS_MAX_FIELDS", 1)
    assert _flags(readers[1], tweet) == ({tweet.id}, set())
    assert _cached(readers[1].pk, tweet.id) == b"?"
