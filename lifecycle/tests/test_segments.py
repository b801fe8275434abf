"""Segments as an open format (pyarrow over the S3 API), erasure, compaction
and the upgrade from the per-tweet format."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta

import pyarrow.dataset as ds
import pyarrow.fs
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from api.services import tweet_remove, tweet_restore
from lifecycle import segments, services
from lifecycle.archive import archive_key, archive_write
from lifecycle.models import Segment, SegmentErasure
from media.tests.support import S3_BUCKET, s3_storage_options
from tweets import tiering
from tweets.models import Tweet
from tweets.selectors import tweet_record_build, version_render
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db(transaction=True)


def _age(ids: list[int], days: float) -> None:
    moment = timezone.now() - timedelta(days=days)
    Tweet.objects.filter(pk__in=ids).update(created_at=moment, published_at=moment)


def _objects() -> list[str]:
    return sorted(key for key, _size, _at in segments.segment_objects())


def _all_ids() -> list[int]:
    return sorted(row["id"] for key in _objects() for row in segments.segment_read_all(key))


# --- the open format over the S3 API -----------------------------------------------------------
@pytest.fixture
def s3_archive(settings, s3_server):
    import boto3

    _server, endpoint = s3_server
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=S3_BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**s3_storage_options(endpoint), "location": "archive"},
        },
    }
    return endpoint


def test_every_segment_reads_with_pyarrow_dataset_over_s3_and_matches_storage_report(
    s3_archive, user, anon_client, settings
):
    settings.NEXUS_LIFECYCLE_BATCH_SIZE = 4  # several segments per tier
    settings.NEXUS_SEGMENT_ROW_GROUP_ROWS = 2
    warm = [make_tweet(user, f"warm words {i} #open").pk for i in range(6)]
    cold = [make_tweet(user, f"cold words {i}").pk for i in range(5)]
    _age(warm, 10)
    _age(cold, 100)
    assert services.lifecycle_run_due() == {"migrated": 11}
    segments.footer_cache_clear()

    # Point reads through the S3 API: footer then one row group, by ranged GETs.
    for tweet_id, text in ((warm[3], "warm words 3 #open"), (cold[4], "cold words 4")):
        assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["text"] == text

    out = io.StringIO()
    call_command("storage_report", json=True, stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    s3 = pyarrow.fs.S3FileSystem(
        endpoint_override=s3_archive, scheme="http", access_key="testing", secret_key="testing", region="us-east-1"
    )
    for tier in ("warm", "cold"):
        dataset = ds.dataset(f"{S3_BUCKET}/archive/segments/{tier}", format="parquet", filesystem=s3)
        table = dataset.to_table(columns=["id", "text", "versions", "likes"])
        assert table.num_rows == report["tweets"]["by_tier"][tier] == report["object_store"]["catalog"][tier]["rows"]
        assert report["object_store"]["segment_objects_by_tier"][tier] == len(dataset.files) >= 2
        assert sorted(table.column("id").to_pylist()) == sorted(warm if tier == "warm" else cold)
        if tier == "cold":
            assert table.column("likes").null_count == 0  # final counts in cold segments
    assert report["object_store"]["objects"] == report["object_store"]["segments"] == 4


def test_a_point_read_over_s3_fetches_the_footer_once_then_only_the_record_columns_of_one_row_group(
    s3_archive, user, anon_client, settings
):
    settings.NEXUS_SEGMENT_ROW_GROUP_ROWS = 2
    cold = [make_tweet(user, f"cold words {i}").pk for i in range(6)]
    _age(cold, 100)
    assert services.lifecycle_run_due() == {"migrated": 6}
    (segment,) = Segment.objects.all()
    segments.footer_cache_clear()
    ranges: list[str] = []
    client = segments.archive_storage().bucket.meta.client
    client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **kw: ranges.append(params["Range"])
    )

    assert anon_client.get(f"/api/v1/tweets/{cold[4]}").json()["text"] == "cold words 4"
    assert anon_client.get(f"/api/v1/tweets/{cold[1]}").json()["text"] == "cold words 1"

    # The tail (footer) once, then one ranged GET per read.
    assert len(ranges) == 3
    assert ranges[0] == f"bytes={max(0, segment.bytes - segments.TAIL_BYTES)}-{segment.bytes - 1}"
    metadata = segments._footer_cached(segment.key).metadata
    for got, group in ((ranges[1], 2), (ranges[2], 0)):
        columns = {
            metadata.schema.column(j).path: metadata.row_group(group).column(j) for j in range(metadata.num_columns)
        }
        start, end = (int(b) for b in got.removeprefix("bytes=").split("-"))
        assert start == columns["id"].data_page_offset
        assert end < columns["history"].data_page_offset  # the history and the final counts stay unread
        assert end + 1 == max(
            c.data_page_offset + c.total_compressed_size
            for p, c in columns.items()
            if p.split(".")[0] in segments.RECORD_COLUMNS
        )


def _collected(expected: int) -> int:
    """erasure_collect until `expected` tweets were queued: the outbox feed shows
    an event once every older transaction of the cluster has finished, and
    other suites share this PostgreSQL."""
    queued, end = 0, time.monotonic() + 60
    while queued < expected and time.monotonic() < end:
        queued += services.erasure_collect()
        time.sleep(0.05 if queued < expected else 0)
    return queued


# --- erasure --------------------------------------------------------------------------------------
def test_a_deleted_or_removed_archived_tweet_is_erased_by_compaction_unless_restored(
    user, client_alice, anon_client, moderator, settings
):
    ids = [make_tweet(user, f"erasable {i}").pk for i in range(4)]
    _age(ids, 10)
    services.lifecycle_run_due()
    old_key = Segment.objects.get().key
    deleted, removed, restored, kept = ids
    assert client_alice.delete(f"/api/v1/tweets/{deleted}").status_code == 204
    tweet_remove(tweet_id=removed, moderator=moderator, reason="abuse")
    tweet_remove(tweet_id=restored, moderator=moderator, reason="mistake")
    tweet_restore(tweet_id=restored, moderator=moderator, reason="was fine")
    assert anon_client.get(f"/api/v1/tweets/{deleted}").status_code == 404  # hidden at once

    assert _collected(3) == 3
    assert services.segments_erase_due() == 0  # due within NEXUS_ERASURE_HOURS, not yet
    later = timezone.now() + timedelta(hours=settings.NEXUS_ERASURE_HOURS)
    assert services.segments_erase_due(now=later) == 2

    assert _all_ids() == sorted([restored, kept])  # the bytes are gone from the store
    assert old_key not in _objects()
    assert not SegmentErasure.objects.exists()
    for tweet_id, text in ((restored, "erasable 2"), (kept, "erasable 3")):
        assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["text"] == text
    assert services.erasure_collect() == 0  # the cursor moved on


def test_a_tweet_deleted_before_its_move_is_queued_for_erasure_by_the_move(user, client_alice, settings):
    settings.NEXUS_ERASURE_HOURS = 0
    ids = [make_tweet(user, f"gone early {i}").pk for i in range(2)]
    assert client_alice.delete(f"/api/v1/tweets/{ids[0]}").status_code == 204
    _age(ids, 100)
    services.lifecycle_run_due()
    assert list(SegmentErasure.objects.values_list("tweet_id", flat=True)) == [ids[0]]
    assert services.segments_erase_due() == 1
    assert _all_ids() == [ids[1]]


# --- compaction -----------------------------------------------------------------------------------
def test_compaction_merges_small_segments_of_a_tier(user, anon_client, settings):
    settings.NEXUS_LIFECYCLE_BATCH_SIZE = 2
    ids = [make_tweet(user, f"small {i}").pk for i in range(5)]
    _age(ids, 10)
    services.lifecycle_run_due()
    assert Segment.objects.count() == 3
    settings.NEXUS_LIFECYCLE_BATCH_SIZE = 100
    assert services.segments_compact()["merged"] == 3
    segment = Segment.objects.get()
    assert (segment.row_count, segment.live_rows) == (5, 5)
    assert _objects() == [segment.key]
    for i, tweet_id in enumerate(ids):
        assert anon_client.get(f"/api/v1/tweets/{tweet_id}").json()["text"] == f"small {i}"


def test_a_read_racing_a_compaction_finds_the_new_segment(user, anon_client, settings, monkeypatch):
    settings.NEXUS_LIFECYCLE_BATCH_SIZE = 1
    ids = [make_tweet(user, f"raced {i}").pk for i in range(2)]
    _age(ids, 10)
    services.lifecycle_run_due()
    from lifecycle import selectors

    stale = selectors.segments_locate([(ids[0], "warm")])
    settings.NEXUS_LIFECYCLE_BATCH_SIZE = 100
    services.segments_compact()
    calls = []
    real = selectors.segments_locate

    def first_stale(pairs):
        calls.append(1)
        return stale if len(calls) == 1 else real(pairs)

    monkeypatch.setattr(selectors, "segments_locate", first_stale)
    tweet = Tweet.objects.get(pk=ids[0])
    assert selectors.archived_records_get_many([tweet])[ids[0]]["text"] == "raced 0"
    assert len(calls) == 2


# --- upgrade from the per-tweet format -----------------------------------------------------------
def _legacy_archive(tweet: Tweet, tier: str) -> str:
    """Archive one hot tweet the old way: its JSON object, then the slim row."""
    tweet = Tweet.objects.select_related("author", "content").get(pk=tweet.pk)
    document = {
        "tweet_id": tweet.id,
        "record": tweet_record_build(tweet),
        "versions": [
            version_render(v.version, v.content.text, v.content_id, v.media_ids, v.created_at)
            for v in tweet.versions.select_related("content").order_by("version")
        ],
        "version_authors": {str(v.version): v.created_by_id for v in tweet.versions.all()},
        "hashtags": [],
        "history": [],
        "archived_at": timezone.now().isoformat(),
    }
    if tier == "cold":
        document["final_metrics"] = {"likes": 3, "retweets": 0, "replies": 0, "quotes": 0, "views": 9}
    key = archive_write(key=archive_key(tweet.id, tier), document=document)
    with transaction.atomic():
        tiering.tier_move_apply(tweet_ids=[tweet.id], source="hot", target=tier)
    return key


def test_the_upgrade_command_repacks_legacy_objects_and_reads_work_before_and_after(user, anon_client):
    warm = make_tweet(user, "legacy warm")
    cold = make_tweet(user, "legacy cold")
    keys = [_legacy_archive(warm, "warm"), _legacy_archive(cold, "cold")]
    assert Segment.objects.count() == 0
    for tweet, text in ((warm, "legacy warm"), (cold, "legacy cold")):  # read from the old format
        assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").json()["text"] == text

    out = io.StringIO()
    call_command("archive_upgrade", stdout=out, stderr=io.StringIO())
    assert "2 tweets repacked" in out.getvalue()

    assert sorted(Segment.objects.values_list("tier", "row_count")) == [("cold", 1), ("warm", 1)]
    assert not any(default_storage.exists(key) for key in keys)
    from tweets import cache as tweet_cache

    for tweet, text in ((warm, "legacy warm"), (cold, "legacy cold")):
        tweet_cache.tweet_cache_delete(tweet.pk)
        got = anon_client.get(f"/api/v1/tweets/{tweet.pk}").json()
        assert got["text"] == text
        versions = anon_client.get(f"/api/v1/tweets/{tweet.pk}/versions").json()["results"]
        assert [v["text"] for v in versions] == [text]
    cold_row = segments.segment_read_all(Segment.objects.get(tier="cold").key)[0]
    assert (cold_row["likes"], cold_row["views"]) == (3, 9)

    call_command("archive_upgrade", stdout=(again := io.StringIO()), stderr=io.StringIO())
    assert "0 tweets repacked" in again.getvalue()  # idempotent
    assert Segment.objects.count() == 2
