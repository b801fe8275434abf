"""Outbox retention: events older than NEXUS_OUTBOX_RETENTION_HOURS are purged
in bounded batches; consumers that keep up follow their cursor unchanged."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from tweets.models import OutboxEvent
from tweets.outbox import events_after, outbox_purge, outbox_purge_queryset
from tweets.tasks import purge_outbox_events
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def _backdate(tweet_ids: list[int], hours: float) -> None:
    OutboxEvent.objects.filter(tweet_id__in=tweet_ids).update(at=timezone.now() - timedelta(hours=hours))


def test_events_past_the_retention_go_recent_ones_stay(user, settings):
    settings.NEXUS_OUTBOX_RETENTION_HOURS = 168
    old = [make_tweet(user, f"old {i}").pk for i in range(5)]
    edge = make_tweet(user, "just inside").pk
    recent = make_tweet(user, "recent").pk
    _backdate(old, hours=169)
    _backdate([edge], hours=167)

    assert outbox_purge(batch_size=2) == 5
    assert not OutboxEvent.objects.filter(tweet_id__in=old).exists()
    assert OutboxEvent.objects.filter(tweet_id=edge).count() == 1
    assert OutboxEvent.objects.filter(tweet_id=recent).count() == 1
    assert outbox_purge() == 0  # idempotent


def test_each_call_is_bounded_and_the_next_one_continues(user):
    old = [make_tweet(user, f"old {i}").pk for i in range(5)]
    _backdate(old, hours=24 * 30)
    assert outbox_purge(batch_size=2, max_batches=2) == 4
    assert OutboxEvent.objects.filter(tweet_id__in=old).count() == 1
    assert outbox_purge(batch_size=2, max_batches=2) == 1


def test_the_beat_job_uses_the_retention_setting(user, settings):
    settings.NEXUS_OUTBOX_RETENTION_HOURS = 1
    older, newer = make_tweet(user, "two hours").pk, make_tweet(user, "half an hour").pk
    _backdate([older], hours=2)
    _backdate([newer], hours=0.5)
    assert purge_outbox_events() == 1
    assert list(OutboxEvent.objects.values_list("tweet_id", flat=True)) == [newer]
    assert "tweets.tasks.purge_outbox_events" in {e["task"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()}


def _read_all(after: str | None, want: int) -> tuple[list[dict], str | None]:
    """Follow the feed until `want` events arrived (on PostgreSQL the feed waits
    behind transactions still open anywhere in the cluster, so poll)."""
    seen: list[dict] = []
    for _ in range(100):
        page, after = events_after(after=after, limit=100)
        seen += page
        if len(seen) >= want:
            break
        time.sleep(0.1)
    return seen, after


@pytest.mark.django_db(transaction=True)  # the PostgreSQL feed shows committed events only
def test_a_cursor_keeps_working_after_a_purge(user):
    first = make_tweet(user, "before the purge").pk
    seen, cursor = _read_all(None, want=1)
    assert [int(e["tweet_id"]) for e in seen] == [first]

    _backdate([first], hours=24 * 8)
    second = make_tweet(user, "after the purge").pk
    assert outbox_purge() == 1

    # The consumer continues from its cursor: the new event, exactly once.
    seen, cursor = _read_all(cursor, want=1)
    assert [int(e["tweet_id"]) for e in seen] == [second]
    assert events_after(after=cursor, limit=100)[0] == []
    # A consumer starting from scratch sees what is left.
    assert [int(e["tweet_id"]) for e in _read_all(None, want=1)[0]] == [second]


@pytest.mark.postgres
def test_a_purge_batch_reads_the_at_index_not_the_table():
    with connection.cursor() as cursor:
        # 120k events, one every 7 seconds up to now; the oldest ~33k are past the week.
        cursor.execute(
            """
            INSERT INTO tweets_outboxevent (txid, type, tweet_id, author_id, version, at, data)
            SELECT g, 'tweet.created', g, 1, 1, now() - (120000 - g) * interval '7 seconds', '{}'
            FROM generate_series(1, 120000) AS g
            """
        )
        cursor.execute("ANALYZE tweets_outboxevent")
    cutoff = timezone.now() - timedelta(hours=168)
    plan = outbox_purge_queryset(cutoff=cutoff)[:5000].explain()
    assert "Seq Scan" not in plan, plan
    assert "outbox_at" in plan, plan
    expired = OutboxEvent.objects.filter(at__lt=cutoff).count()
    assert expired > 30000
    assert outbox_purge(now=cutoff + timedelta(hours=168), batch_size=5000, max_batches=2) == 10000
    assert OutboxEvent.objects.filter(at__lt=cutoff).count() == expired - 10000
