import threading
import time

import pytest
from django.db import connection, transaction

from tweets.models import EventType, OutboxEvent
from tweets.outbox import event_record, events_after
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def _poll(read, want: int, attempts: int = 100) -> list:
    """Follow the feed like a consumer until `want` events arrived. On
    PostgreSQL the feed waits behind any transaction still open in the
    cluster (e.g. another test run), so consumers poll."""
    seen: list = []
    for _ in range(attempts):
        seen += read()
        if len(seen) >= want:
            break
        time.sleep(0.1)
    return seen


def test_feed_is_for_moderator_and_service_tokens_only(
    anon_client, client_alice, service_client, make_client, moderator
):
    assert anon_client.get("/api/v1/events").status_code == 401
    assert client_alice.get("/api/v1/events").status_code == 403
    assert service_client.get("/api/v1/events").status_code == 200
    assert make_client(moderator).get("/api/v1/events").status_code == 200


@pytest.mark.django_db(transaction=True)  # on PostgreSQL the feed shows committed events only
def test_a_consumer_following_the_cursor_sees_every_event_once_in_order(service_client, client_alice, user):
    tweet = make_tweet(user, "v1")
    client_alice.patch(f"/api/v1/tweets/{tweet.id}", {"text": "v2"}, format="json")
    client_alice.delete(f"/api/v1/tweets/{tweet.id}")

    cursor = None

    def read_page():
        nonlocal cursor
        params = {"limit": 2} | ({"after": cursor} if cursor else {})
        page = service_client.get("/api/v1/events", params).json()
        cursor = page["next_cursor"]
        return page["results"]

    seen = _poll(read_page, want=3)
    assert read_page() == []  # nothing twice

    assert [(e["type"], e["version"]) for e in seen] == [
        ("tweet.created", 1),
        ("tweet.edited", 2),
        ("tweet.deleted", 2),
    ]
    assert set(seen[0]) == {"cursor", "type", "tweet_id", "author_id", "version", "at"}
    assert seen[0]["tweet_id"] == str(tweet.id) and seen[0]["author_id"] == str(user.pk)


@pytest.mark.parametrize("params", [{"after": "nonsense"}, {"limit": "0"}, {"limit": "101"}])
def test_bad_feed_parameters_are_400(service_client, params):
    assert service_client.get("/api/v1/events", params).status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_with_a_lower_id_is_not_skipped(make_user):
    """Writer A inserts first (lower id) but commits last; writer B inserts and
    commits in between. A reader must not move past A's event while A is open."""
    author = make_user("writer")
    tweet = make_tweet(author, "subject")
    start = None

    def drain():
        nonlocal start
        results, start = events_after(after=start, limit=100)
        return results

    assert [e["type"] for e in _poll(drain, want=1)] == ["tweet.created"]

    a_inserted, a_may_commit = threading.Event(), threading.Event()
    a_event_id: list[int] = []

    def writer_a():
        try:
            with transaction.atomic():
                a_event_id.append(event_record(type=EventType.EDITED, tweet=tweet).id)
                a_inserted.set()
                a_may_commit.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert a_inserted.wait(10)
    with transaction.atomic():  # writer B, on this thread's own connection
        b_event = event_record(type=EventType.DELETED, tweet=tweet)
    assert b_event.id > a_event_id[0]

    while_a_open, cursor_while_open = events_after(after=start, limit=100)
    a_may_commit.set()
    thread.join()
    cursor = cursor_while_open

    def read_batch():
        nonlocal cursor
        results, cursor = events_after(after=cursor, limit=100)
        return results

    after_commit = _poll(read_batch, want=2)

    assert while_a_open == []  # B is committed but must wait behind A
    assert [e["type"] for e in after_commit] == ["tweet.edited", "tweet.deleted"]
    assert OutboxEvent.objects.filter(id__in=[a_event_id[0], b_event.id]).count() == 2
