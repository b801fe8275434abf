"""Finding due work reads the tiers' due indexes, never scans: EXPLAIN over a large table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tweets.tiering import CLAIM_SQL

ROWS = 120_000


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_claim_query_uses_the_due_index_over_a_large_table(user):
    with connection.cursor() as cursor:
        # One row per tweet over ~120 days, most of them cold already; 200 hot rows are due.
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
        cursor.execute("UPDATE tweets_tweet SET tier = 'hot', published_at = now() - interval '8 days' WHERE id <= 200")
        cursor.execute("ANALYZE tweets_tweet")
        cutoff = timezone.now() - timedelta(days=7)
        with transaction.atomic():
            cursor.execute("EXPLAIN " + CLAIM_SQL, ["hot", cutoff, 500])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute(CLAIM_SQL, ["hot", cutoff, 500])
            claimed = cursor.fetchall()

    assert "Seq Scan" not in plan, plan
    assert "tweet_hot_due" in plan, plan
    assert len(claimed) == 200
