"""Crash points of a batch move, for real: a child process runs the lifecycle
and is killed with SIGKILL (a) after its segment is written and verified but
before anything else, and (b) after every statement of the move ran, before
its COMMIT. Nothing is lost, nothing moves twice, the orphan segment is swept,
and the killed batch is claimable again as soon as PostgreSQL has ended the
dead connection's backend (no lease to wait out)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from lifecycle import segments, services
from lifecycle.models import Segment
from tweets.models import EventType, OutboxEvent, Tweet
from tweets.tests.factories import make_tweet, stored_events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHILD = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from django.db import connection
    from lifecycle import services

    stage, marker = sys.argv[1], sys.argv[2]

    def hold(name):
        if name == stage:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            with open(marker, "w") as handle:
                handle.write(str(pid))
            time.sleep(120)  # killed here

    services._checkpoint = hold
    services.lifecycle_run_due()
    """
)


def _wait_for(predicate, what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


@pytest.mark.parametrize("stage", ["uploaded", "applied"])
def test_a_mover_killed_mid_batch_loses_nothing_and_moves_nothing_twice(user, stage, tmp_path):
    ids = [make_tweet(user, f"crash {stage} {i} #kill").pk for i in range(5)]
    moment = timezone.now() - timedelta(days=10)
    Tweet.objects.filter(pk__in=ids).update(created_at=moment, published_at=moment)
    marker = tmp_path / "marker"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nexus.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "NEXUS_ARCHIVE_ROOT": str(settings.STORAGES["archive"]["OPTIONS"]["location"]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, str(marker)], env=env, cwd=Path(settings.BASE_DIR), stderr=subprocess.PIPE
    )
    try:
        _wait_for(lambda: marker.exists() and marker.read_text(), f"the child to reach {stage!r}")
        backend = int(marker.read_text())
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    # The segment was written; nothing else happened.
    orphans = [key for key, _size, _at in segments.segment_objects()]
    assert len(orphans) == 1
    assert Segment.objects.count() == 0
    assert set(Tweet.objects.filter(pk__in=ids).values_list("tier", flat=True)) == {"hot"}
    assert stored_events(type=EventType.TIER_CHANGED, tweet_ids=ids) == []

    # PostgreSQL ends the dead client's backend (and so its locks) by itself.
    _wait_for(lambda: _backend_gone(backend), "the killed mover's backend to end")
    assert services.lifecycle_run_due() == {"migrated": 5}
    assert services.lifecycle_run_due() == {}
    assert set(Tweet.objects.filter(pk__in=ids).values_list("tier", flat=True)) == {"warm"}
    # One event per tweet, in one batch row: the move is one change.
    assert [e[0] for e in stored_events(type=EventType.TIER_CHANGED, tweet_ids=ids)] == sorted(ids)
    assert OutboxEvent.objects.filter(type=EventType.TIER_CHANGED).count() == 1
    segment = Segment.objects.get()
    assert [row["id"] for row in segments.segment_read_all(segment.key)] == sorted(ids)

    # The sweeper deletes the orphan and keeps the catalogued segment.
    assert services.segments_sweep(grace_seconds=0) == 1
    assert [key for key, _size, _at in segments.segment_objects()] == [segment.key]
    assert services.segments_sweep(grace_seconds=0) == 0


def test_the_sweeper_leaves_young_orphans_alone(user):
    make_tweet(user, "young")
    segments.segment_put(key="segments/warm/2026/01/01/1-1-young.parquet", blob=b"x")
    assert services.segments_sweep() == 0  # inside the grace period: maybe a move still running
    assert services.segments_sweep(grace_seconds=0) == 1
