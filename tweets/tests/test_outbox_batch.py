"""Batch rows in the outbox: a lifecycle move's tweet.tier_changed events are
one row, and the feed still shows one event per tweet, each with its own
cursor, exactly once, in order (SPEC section 6)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from tweets import tiering
from tweets.models import EventType, OutboxEvent, Tier, Tweet
from tweets.outbox import event_batch_record, event_record, events_after
from tweets.tests.factories import make_tweet, stored_events

pytestmark = pytest.mark.django_db


def _tweet(tweet_id: int, author_id: int = 7, version: int = 1) -> Tweet:
    return Tweet(id=tweet_id, author_id=author_id, version=version)


@pytest.fixture
def feed() -> list[tuple[str, str, str, int]]:
    """Ordinary rows and batch rows interleaved, written by the real writers,
    then given the txid of a long-finished transaction (1) so the feed shows
    them inside the test's own transaction. Returns the events the feed must
    show, in order: (type, tweet_id, author_id, version)."""
    event_record(type=EventType.CREATED, tweet=_tweet(100))
    seven = [(200 + i, 10 + i % 3, 1 + i % 2) for i in range(7)]
    event_batch_record(type=EventType.TIER_CHANGED, events=seven)
    event_record(type=EventType.EDITED, tweet=_tweet(101, version=2))
    three = [(300, 11, 1), (301, 12, 3), (302, 11, 1)]
    event_batch_record(type=EventType.TIER_CHANGED, events=three)
    event_batch_record(type=EventType.TIER_CHANGED, events=[(400, 13, 2)])  # a batch of one: an ordinary row
    OutboxEvent.objects.update(txid=1)
    changed = EventType.TIER_CHANGED.value
    return [
        (EventType.CREATED.value, "100", "7", 1),
        *[(changed, str(t), str(a), v) for t, a, v in seven],
        (EventType.EDITED.value, "101", "7", 2),
        *[(changed, str(t), str(a), v) for t, a, v in three],
        (changed, "400", "13", 2),
    ]


def _follow(limit: int, after: str | None = None) -> list[dict]:
    """A consumer that always asks for after=<last cursor seen>."""
    seen: list[dict] = []
    while True:
        page, next_cursor = events_after(after=after, limit=limit)
        assert len(page) <= limit
        if not page:
            assert next_cursor == after  # an empty page keeps the position
            return seen
        assert next_cursor == page[-1]["cursor"]
        seen += page
        after = next_cursor


def _shape(events: list[dict]) -> list[tuple[str, str, str, int]]:
    return [(e["type"], e["tweet_id"], e["author_id"], e["version"]) for e in events]


def test_a_move_is_one_batch_row_with_every_tweet(feed):
    rows = list(OutboxEvent.objects.order_by("id").values_list("type", "tweet_id", "events"))
    assert rows == [
        ("tweet.created", 100, 1),
        ("tweet.tier_changed", 200, 7),
        ("tweet.edited", 101, 1),
        ("tweet.tier_changed", 300, 3),
        ("tweet.tier_changed", 400, 1),
    ]
    batch = OutboxEvent.objects.get(tweet_id=300)
    assert batch.data == {"tweet_ids": [300, 301, 302], "author_ids": [11, 12, 11], "versions": [1, 3, 1]}
    assert OutboxEvent.objects.get(tweet_id=400).data == {}


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_following_the_cursor_through_batch_rows_sees_every_event_once_in_order(feed, limit):
    seen = _follow(limit)

    assert _shape(seen) == feed
    cursors = [e["cursor"] for e in seen]
    assert len(set(cursors)) == len(cursors)
    batch_id = OutboxEvent.objects.get(tweet_id=200).id
    created_id = OutboxEvent.objects.get(tweet_id=100).id
    assert cursors[:3] == [f"1.{created_id}", f"1.{batch_id}.1", f"1.{batch_id}.2"]
    assert cursors[7] == f"1.{batch_id}.7"


def test_resuming_from_a_cursor_inside_a_batch_row_continues_with_the_next_tweet(feed):
    everything = _follow(100)
    for index in (1, 3, 7, 9, 10):  # first, middle and last tweet of a batch row
        page, _ = events_after(after=everything[index]["cursor"], limit=2)
        assert page == everything[index + 1 : index + 3]
    # An ordinary row's cursor (the only kind before batch rows) still means "after it".
    page, _ = events_after(after=everything[0]["cursor"], limit=100)
    assert page == everything[1:]
    # So does a batch row's own txid.id: after the whole row.
    batch_id = OutboxEvent.objects.get(tweet_id=200).id
    page, _ = events_after(after=f"1.{batch_id}", limit=100)
    assert page == everything[8:]


def test_a_mid_batch_cursor_whose_row_was_purged_continues_after_it(feed):
    everything = _follow(100)
    OutboxEvent.objects.filter(tweet_id__in=[100, 200]).delete()  # retention took both rows
    page, _ = events_after(after=everything[3]["cursor"], limit=100)
    assert page == everything[8:]


def test_the_feed_over_http_pages_through_a_batch_row(feed, service_client):
    seen: list[dict] = []
    after = None
    while True:
        body = service_client.get("/api/v1/events", {"limit": 3} | ({"after": after} if after else {})).json()
        if not body["results"]:
            break
        seen += body["results"]
        after = body["next_cursor"]
    assert _shape(seen) == feed


@pytest.mark.parametrize("cursor", ["1.2.0", "1.2.-1", "1.2.3.4", "1", "1.2.x", "a.b", "1..2"])
def test_an_invalid_cursor_is_400(service_client, cursor):
    assert service_client.get("/api/v1/events", {"after": cursor}).status_code == 400


def test_a_replayed_move_writes_no_second_batch_row(user):
    tweets = [make_tweet(user, f"tweet {i}") for i in range(3)]
    ids = sorted(t.id for t in tweets)
    with transaction.atomic():
        assert tiering.tier_move_apply(tweet_ids=ids, source=Tier.HOT, target=Tier.WARM) == 3
    with transaction.atomic():  # the same batch again: nothing is hot any more
        assert tiering.tier_move_apply(tweet_ids=ids, source=Tier.HOT, target=Tier.WARM) == 0
    assert OutboxEvent.objects.filter(type=EventType.TIER_CHANGED).count() == 1
    assert stored_events(type=EventType.TIER_CHANGED, tweet_ids=ids) == [(i, user.pk, 1) for i in ids]


def test_a_move_names_only_the_rows_that_moved(user):
    hot, moved = make_tweet(user, "stays hot"), make_tweet(user, "already warm")
    with transaction.atomic():
        tiering.tier_move_apply(tweet_ids=[moved.id], source=Tier.HOT, target=Tier.WARM)
    with transaction.atomic():
        assert tiering.tier_move_apply(tweet_ids=[hot.id, moved.id], source=Tier.HOT, target=Tier.WARM) == 1
    assert stored_events(type=EventType.TIER_CHANGED, tweet_ids=[hot.id, moved.id]) == [
        (moved.id, user.pk, 1),
        (hot.id, user.pk, 1),
    ]


@pytest.mark.postgres
def test_a_batch_row_is_one_transaction_s_events(user):
    tweets = [make_tweet(user, f"tweet {i}") for i in range(4)]
    with transaction.atomic():
        tiering.tier_move_apply(tweet_ids=[t.id for t in tweets], source=Tier.HOT, target=Tier.WARM)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            txid = cursor.fetchone()[0]
    row = OutboxEvent.objects.get(type=EventType.TIER_CHANGED)
    assert (row.txid, row.events, row.tweet_id) == (txid, 4, min(t.id for t in tweets))
