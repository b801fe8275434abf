"""The three management commands on a small synthetic data set."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from lifecycle.models import Segment
from lifecycle.selectors import queue_backlog, tier_counts
from tweets.models import OutboxEvent, Tweet, TweetVersion

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_then_run_then_report(anon_client, on_postgres, settings):
    out = io.StringIO()
    call_command("seed_synthetic", days=100, per_day=3, users=4, seed=7, stdout=out, stderr=io.StringIO())
    assert "seeded 300 tweets" in out.getvalue()
    assert Tweet.objects.count() == 300
    assert TweetVersion.objects.count() > 300  # some tweets were edited
    edited = Tweet.objects.filter(state="edited").values_list("id", flat=True).first()

    call_command("lifecycle_run", stdout=io.StringIO(), stderr=io.StringIO())

    now = timezone.now()
    counts = tier_counts()
    assert counts["hot"] == Tweet.objects.filter(published_at__gt=now - timedelta(days=7)).count()
    assert counts["cold"] == Tweet.objects.filter(published_at__lte=now - timedelta(days=90)).count()
    assert counts["warm"] == 300 - counts["hot"] - counts["cold"] > 0
    assert queue_backlog(now=now)["due"] == 0
    # One segment per tier here (each batch fits one), holding exactly the tier's rows.
    catalog = {s.tier: s for s in Segment.objects.all()}
    assert {t: (s.row_count, s.live_rows) for t, s in catalog.items()} == {
        "warm": (counts["warm"], counts["warm"]),
        "cold": (counts["cold"], counts["cold"]),
    }
    # Every tweet readable in full, whatever its tier.
    ids = [str(i) for i in Tweet.objects.order_by("id").values_list("id", flat=True)]
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        results = anon_client.get(f"/api/v1/tweets?ids={','.join(chunk)}").json()["results"]
        assert [r["id"] for r in results] == chunk
        assert all(r["text"] and r["content_hash"].startswith("sha256:") for r in results)
    versions = anon_client.get(f"/api/v1/tweets/{edited}/versions").json()["results"]
    assert len(versions) >= 2

    out = io.StringIO()
    call_command("storage_report", json=True, vacuum=on_postgres, stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    assert report["tweets"]["by_tier"] == counts
    assert report["object_store"]["objects"] == report["object_store"]["segments"] == 2
    assert report["object_store"]["by_tier"]["warm"] > 0 and report["object_store"]["by_tier"]["cold"] > 0
    assert report["baseline_all_hot"]["primary_db"] > 0
    # The seed leaves no event the outbox retention would have purged.
    kept_from = now - timedelta(hours=settings.NEXUS_OUTBOX_RETENTION_HOURS) - timedelta(minutes=5)
    assert not OutboxEvent.objects.filter(at__lt=kept_from).exists()
    if on_postgres:
        tables = report["primary_db"]["tables"]
        base = report["baseline_all_hot"]
        # Baseline: the tables that grow with the tweets kept, scaled from the hot tweets; the
        # outbox as the hot tweets hold it (its retention window); no lifecycle queue.
        scaled = sum(
            info["by_tier"].get("hot", 0)
            for name, info in tables.items()
            if name not in {"tweets_outboxevent", "lifecycle_segment", "lifecycle_movelog", "lifecycle_outboxcursor"}
        )
        assert base["outbox_bytes"] == tables["tweets_outboxevent"]["by_tier"].get("hot", 0)
        fixed = (
            report["primary_db"]["total"]
            - sum(report["primary_db"]["by_tier"].get(t, 0) for t in counts)
            - report["lifecycle_tables_bytes"]
        )
        assert base["fixed_bytes"] == fixed >= 0
        assert abs(base["primary_db"] - (scaled * 300 / counts["hot"] + base["outbox_bytes"] + fixed)) <= 1
        assert report["outbox"]["tier_changed_events"] == counts["warm"] + counts["cold"]  # one per move
        per_tweet = report["primary_db"]["per_tweet_by_tier"]
        assert per_tweet["cold"] < per_tweet["warm"] < per_tweet["hot"]
        assert report["reduction"]["primary_db_percent"] > 0


def test_seed_rejects_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_synthetic", days=0, per_day=3)
