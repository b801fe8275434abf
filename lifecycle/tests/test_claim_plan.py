"""Finding due work reads the due index, never scans: EXPLAIN over a realistic queue."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from lifecycle.services import lifecycle_claim_queryset

QUEUE_ROWS = 120_000


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_claim_query_uses_the_due_index_over_a_large_queue():
    with connection.cursor() as cursor:
        # One row per tweet, due over the next 90 days; the first 200 are overdue.
        cursor.execute(
            """
            INSERT INTO lifecycle_lifecycletask (tweet_id, target, due_at, attempts, last_error)
            SELECT g, CASE WHEN g %% 2 = 0 THEN 'warm' ELSE 'cold' END,
                   now() + (g - 200) * interval '60 seconds', 0, ''
            FROM generate_series(1, %s) AS g
            """,
            [QUEUE_ROWS],
        )
        cursor.execute("ANALYZE lifecycle_lifecycletask")

    with transaction.atomic():
        queryset = lifecycle_claim_queryset(now=timezone.now())[:500]
        plan = queryset.explain()
        claimed = list(queryset)

    assert "Seq Scan" not in plan, plan
    assert "lifecycle_task_due" in plan, plan
    assert len(claimed) == 200
