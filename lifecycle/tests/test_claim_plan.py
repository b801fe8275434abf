"""Finding due work reads the tiers' due indexes, never scans: EXPLAIN over a large table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tweets.tiering import CLAIM_SQL

ROWS = 120_000


def _plan_and_claim(cursor, tier: str, cutoff) -> tuple[str, list]:
    cursor.execute("ANALYZE tweets_tweet")
    with transaction.atomic():
        cursor.execute("EXPLAIN " + CLAIM_SQL, [tier, cutoff, 500])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(CLAIM_SQL, [tier, cutoff, 500])
        return plan, cursor.fetchall()


def _insert_120_days(cursor, user) -> None:
    """One row per tweet over ~120 days (86 s apart): hot, then warm, the oldest 30,000 cold."""
    cursor.execute(
        """
            INSERT INTO tweets_tweet (id, author_id, media_ids, state, version, created_at, published_at,
                tier, removed_reason)
            SELECT g, %s, '[]'::jsonb, 'published', 1, now(), now() - (%s - g) * interval '86 seconds',
                CASE WHEN g > %s - 6000 THEN 'hot' WHEN g > %s - 90000 THEN 'warm' ELSE 'cold' END, ''
            FROM generate_series(1, %s) AS g
            """,
        [user.pk, ROWS, ROWS, ROWS, ROWS],
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_claim_query_uses_the_due_index_over_a_large_table(user):
    with connection.cursor() as cursor:
        _insert_120_days(cursor, user)
        # 200 hot rows are due.
        cursor.execute("UPDATE tweets_tweet SET tier = 'hot', published_at = now() - interval '8 days' WHERE id <= 200")
        plan, claimed = _plan_and_claim(cursor, "hot", timezone.now() - timedelta(days=7))

    assert "Seq Scan" not in plan, plan
    assert "tweet_hot_due" in plan, plan
    assert len(claimed) == 200


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_warm_claim_reads_the_search_order_index_backwards(user):
    """No index of its own for the warm tier: its due rows are the oldest of
    tweet_published_recent (hot and warm rows), read oldest first."""
    with connection.cursor() as cursor:
        _insert_120_days(cursor, user)
        # 200 warm rows past the cold age (ids 201–400 are ~119 days old), and a stale hot row
        # among them (a lagging hot move) that the warm claim must pass over.
        cursor.execute("UPDATE tweets_tweet SET tier = 'warm' WHERE id BETWEEN 201 AND 400")
        cursor.execute("UPDATE tweets_tweet SET tier = 'hot' WHERE id = 300")
        plan, claimed = _plan_and_claim(cursor, "warm", timezone.now() - timedelta(days=90))

    assert "Seq Scan" not in plan, plan
    assert "tweet_published_recent" in plan, plan
    assert len(claimed) == 199 and 300 not in {row[0] for row in claimed}
