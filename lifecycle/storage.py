"""Measured bytes per tier (SPEC section 7): what `storage_report` prints and
the operator dashboard shows. Everything here is read from the systems
themselves — PostgreSQL's relation and row sizes, Redis MEMORY USAGE, the
object store's object sizes — never computed from a model of the rows.

Attribution to tiers: each table's whole size (heap + indexes + TOAST, from
pg_total_relation_size) is split between tiers in proportion to the measured
bytes of its live rows (sum of pg_column_size(row), sampled on big tables),
each row belonging to the tier of the tweet it describes.

The all-hot baseline: what the data set would occupy if the lifecycle did not
exist. Bytes that no tier's rows account for (the first pages of empty tables
and indexes) are counted on both sides as measured. Per table that grows with the tweets kept: the measured bytes of the
hot tweets' rows per hot tweet (hot tweets were never slimmed), times the
number of tweets. Two tables do not grow with the tweets kept, so they are not
scaled: the outbox holds the events of the retention window only (an all-hot
system holds the hot tweets' events, as measured, and no tier_changed ones).
The lifecycle's own tables (segment catalog, erasure queue, move log) count
on the lifecycle's side only: an all-hot system would not have them. The
analytics points of warm tweets' engagement vectors (no tweet id of their
own: one row per distinct vector) count as warm bytes."""

from __future__ import annotations

import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count, Sum
from django_redis import get_redis_connection

from analytics.models import EngagementPoint
from lifecycle import segments
from lifecycle.models import MoveLog, OutboxCursor, Segment
from tweets.cache import KEY_PREFIX
from tweets.models import OutboxEvent, Tier, Tweet, TweetContent

SAMPLE_ROWS = 200_000
# Tables that do not grow with the number of tweets kept (module docstring).
OUTBOX_TABLE = OutboxEvent._meta.db_table
# The lifecycle's own bookkeeping (not per tweet): measured, never in the baseline.
LIFECYCLE_TABLES = [m._meta.db_table for m in (Segment, MoveLog, OutboxCursor)]
OTHER = "other"  # rows not tied to an existing tweet (e.g. content no tweet uses)


def tier_counts() -> dict[str, int]:
    counts = dict(Tweet.objects.values_list("tier").annotate(n=Count("id")).order_by())
    return {tier: counts.get(tier, 0) for tier in Tier.values}


def tweet_tables() -> list[tuple[str, str]]:
    """(table, column holding the tweet id) for every table that grows per tweet."""
    tables = [(Tweet._meta.db_table, "id"), (Tweet.history.model._meta.db_table, "id")]
    for model in apps.get_models():
        if model is Tweet or model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if field.attname == "tweet_id":
                tables.append((model._meta.db_table, field.column))
    existing = set(connection.introspection.table_names())
    return [(table, column) for table, column in tables if table in existing]


def _pg_relation_sizes(table: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size(%s::regclass), pg_relation_size(%s::regclass), "
            "pg_indexes_size(%s::regclass), GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [table] * 4,
        )
        total, heap, indexes, estimate = cursor.fetchone()
    return {"total": total, "heap": heap, "indexes": indexes, "toast": total - heap - indexes, "rows_est": estimate}


def _sample_clause(estimate: int) -> str:
    if estimate <= SAMPLE_ROWS:
        return ""
    return f" TABLESAMPLE BERNOULLI ({100.0 * SAMPLE_ROWS / estimate:.4f})"


def _pg_row_bytes_by_tier(table: str, column: str, estimate: int) -> dict[str, int]:
    """Measured row bytes per tier (scaled up when sampled)."""
    quote = connection.ops.quote_name
    sample = _sample_clause(estimate)
    if table == Tweet._meta.db_table:
        sql = f"SELECT x.tier, sum(pg_column_size(x.*)), count(*) FROM {quote(table)} x{sample} GROUP BY 1"
    elif table == TweetContent._meta.db_table:
        # Content belongs to the (hot) tweets and versions that point at it.
        sql = (
            f"SELECT CASE WHEN EXISTS (SELECT 1 FROM tweets_tweet t WHERE t.content_hash = x.hash) "
            f"OR EXISTS (SELECT 1 FROM tweets_tweetversion v WHERE v.content_hash = x.hash) "
            f"THEN 'hot' ELSE '{OTHER}' END, sum(pg_column_size(x.*)), count(*) "
            f"FROM {quote(table)} x{sample} GROUP BY 1"
        )
    else:
        sql = (
            f"SELECT coalesce(t.tier, '{OTHER}'), sum(pg_column_size(x.*)), count(*) FROM {quote(table)} x{sample} "
            f"LEFT JOIN tweets_tweet t ON t.id = x.{quote(column)} GROUP BY 1"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    scale = 1.0 if not sample else estimate / max(1, sum(r[2] for r in rows))
    return {tier: int(size * scale) for tier, size, _ in rows}


def _sqlite_table_bytes() -> dict[str, int]:
    """Pages per table including its indexes, from dbstat when compiled in."""
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                "SELECT m.tbl_name, sum(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
            )
        except Exception:
            return {}
        return dict(cursor.fetchall())


def database_bytes() -> dict:
    """Per table: total bytes (and heap/index/TOAST on PostgreSQL) and the share of each tier."""
    tables: dict[str, dict] = {}
    if connection.vendor == "postgresql":
        for table, column in tweet_tables() + [(TweetContent._meta.db_table, "hash")]:
            sizes = _pg_relation_sizes(table)
            row_bytes = _pg_row_bytes_by_tier(table, column, sizes["rows_est"])
            tables[table] = {**sizes, "row_bytes": row_bytes, "method": "pg_total_relation_size + pg_column_size"}
        for table in LIFECYCLE_TABLES:
            tables[table] = {**_pg_relation_sizes(table), "row_bytes": {}, "method": "pg_total_relation_size"}
        points = EngagementPoint._meta.db_table
        tables[points] = {**_pg_relation_sizes(points), "method": "pg_total_relation_size, all warm"}
        tables[points]["row_bytes"] = {Tier.WARM.value: tables[points]["total"]}
    else:
        measured = _sqlite_table_bytes()
        db_file = Path(str(connection.settings_dict["NAME"]))
        for table, column in tweet_tables() + [(TweetContent._meta.db_table, "hash")]:
            tables[table] = {
                "total": measured.get(table, 0),
                "row_bytes": _row_counts_by_tier(table, column),
                "method": "sqlite dbstat pages; tiers by row count (SQLite has no per-row size)"
                if measured
                else "unavailable (no dbstat)",
            }
        tables["_file"] = {"total": db_file.stat().st_size if db_file.exists() else 0, "row_bytes": {}}
    for info in tables.values():
        measured_rows = sum(info["row_bytes"].values())
        info["by_tier"] = (
            {tier: round(info["total"] * size / measured_rows) for tier, size in info["row_bytes"].items()}
            if measured_rows
            else {}
        )
    return tables


def _row_counts_by_tier(table: str, column: str) -> dict[str, int]:
    quote = connection.ops.quote_name
    if table == Tweet._meta.db_table:
        sql = f"SELECT tier, count(*) FROM {quote(table)} GROUP BY 1"
    elif table == TweetContent._meta.db_table:
        sql = f"SELECT 'hot', count(*) FROM {quote(table)}"
    else:
        sql = (
            f"SELECT coalesce(t.tier, '{OTHER}'), count(*) FROM {quote(table)} x "
            f"LEFT JOIN tweets_tweet t ON t.id = x.{quote(column)} GROUP BY 1"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def redis_bytes() -> dict | None:
    """MEMORY USAGE of this service's cached tweet records, by tier; None without Redis."""
    if not settings.REDIS_URL:
        return None
    client = get_redis_connection("default")
    pattern = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:*:{KEY_PREFIX}*"
    sizes: dict[int, int] = {}
    other = 0
    keys = list(client.scan_iter(match=pattern, count=1000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    for key, size in zip(keys, pipe.execute(), strict=True):
        tail = key.decode().rsplit(":", 1)[-1]
        if tail.isdigit():
            sizes[int(tail)] = size or 0
        else:
            other += size or 0
    by_tier: dict[str, int] = {}
    ids = list(sizes)
    for start in range(0, len(ids), 5000):
        for tweet_id, tier in Tweet.objects.filter(pk__in=ids[start : start + 5000]).values_list("id", "tier"):
            by_tier[tier] = by_tier.get(tier, 0) + sizes[tweet_id]
    return {"keys": len(keys), "total": sum(sizes.values()) + other, "by_tier": by_tier, "method": "MEMORY USAGE"}


def object_store_bytes() -> dict:
    """Archive bytes and objects, listed from the store itself: the segments
    by tier (their key names the tier), beside what the catalog says, and any
    legacy per-tweet objects not yet repacked by `archive_upgrade`."""
    by_tier = {Tier.WARM.value: 0, Tier.COLD.value: 0}
    objects = {Tier.WARM.value: 0, Tier.COLD.value: 0}
    for key, size, _modified in segments.segment_objects():
        tier = key.split("/")[1] if key.count("/") >= 2 else ""
        if tier in by_tier:
            by_tier[tier] += size
            objects[tier] += 1
    catalog = {
        row["tier"]: {"segments": row["n"], "rows": row["rows"] or 0, "live_rows": row["live"] or 0}
        for row in Segment.objects.values("tier").annotate(n=Count("id"), rows=Sum("row_count"), live=Sum("live_rows"))
    }
    legacy = _legacy_objects()
    count = sum(objects.values())
    return {
        "objects": count + legacy["objects"],
        "segments": count,
        "total": sum(by_tier.values()) + legacy["total"],
        "by_tier": {tier: by_tier[tier] + legacy["by_tier"][tier] for tier in by_tier},
        "segment_objects_by_tier": objects,
        "catalog": catalog,
        "legacy": legacy,
        "method": "object sizes listed from the store",
    }


def _legacy_objects() -> dict:
    """The per-tweet objects of the old format (default storage, archive prefix)."""
    prefix = settings.NEXUS_ARCHIVE_PREFIX
    by_tier = {Tier.WARM.value: 0, Tier.COLD.value: 0}
    count = 0
    for name, size in legacy_object_entries(prefix):
        for tier in by_tier:
            if name.endswith(f".{tier}.json.zst"):
                by_tier[tier] += size
                count += 1
    return {"objects": count, "total": sum(by_tier.values()), "by_tier": by_tier}


def legacy_object_entries(prefix: str):
    """(key, size) of every object under `prefix` in the default storage."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:  # S3: the listing carries the sizes
        yield from ((o.key, o.size) for o in bucket.objects.filter(Prefix=f"{prefix}/"))
        return
    root = Path(default_storage.path(prefix))
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            yield str(path.relative_to(Path(default_storage.location))), path.stat().st_size


def outbox_tier_changed(info: dict | None) -> dict | None:
    """The outbox bytes held by tweet.tier_changed events (attributed like the
    tiers, by pg_column_size: a move's batch row with its compressed arrays)
    and how many events that is (tweets, not rows): they go with the outbox
    retention, so a freshly migrated backlog shows them all at once."""
    if info is None or connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(events) FILTER (WHERE type = %s), 0), "
            "coalesce(sum(pg_column_size(x.*)) FILTER (WHERE type = %s), 0), "
            f"coalesce(sum(pg_column_size(x.*)), 0) FROM {connection.ops.quote_name(OUTBOX_TABLE)} x",
            ["tweet.tier_changed"] * 2,
        )
        events, tier_bytes, all_bytes = cursor.fetchone()
    share = tier_bytes / all_bytes if all_bytes else 0.0
    return {
        "total": info["total"],
        "tier_changed_events": events,
        "tier_changed_bytes": round(info["total"] * share),
        "retention_hours": settings.NEXUS_OUTBOX_RETENTION_HOURS,
    }


def storage_summary() -> dict:
    """Everything the report and the dashboard show: counts, bytes per tier per
    system, the all-hot baseline and the reduction of primary-database bytes."""
    counts = tier_counts()
    tables = database_bytes()
    total_tweets = sum(counts.values())
    db_total = sum(info["total"] for name, info in tables.items() if not name.startswith("_"))
    db_by_tier: dict[str, int] = {}
    for name, info in tables.items():
        if name.startswith("_"):
            continue
        for tier, size in info["by_tier"].items():
            db_by_tier[tier] = db_by_tier.get(tier, 0) + size
    hot_per_tweet = db_by_tier.get(Tier.HOT, 0) / counts[Tier.HOT] if counts[Tier.HOT] else None
    baseline = None
    scaled_per_tweet = None
    outbox_hot = tables.get(OUTBOX_TABLE, {}).get("by_tier", {}).get(Tier.HOT, 0)
    # Bytes no tier's rows account for (the pages of empty tables and indexes,
    # rows of no tweet): an all-hot system has them too, so both sides count them.
    lifecycle_bytes = sum(tables.get(t, {}).get("total", 0) for t in LIFECYCLE_TABLES)
    fixed = db_total - sum(db_by_tier.get(tier, 0) for tier in Tier.values) - lifecycle_bytes
    if counts[Tier.HOT]:
        scaled = sum(
            info["by_tier"].get(Tier.HOT, 0)
            for name, info in tables.items()
            if not name.startswith("_") and name not in {OUTBOX_TABLE, *LIFECYCLE_TABLES}
        )
        scaled_per_tweet = scaled / counts[Tier.HOT]
        baseline = round(scaled_per_tweet * total_tweets) + outbox_hot + fixed
    per_tweet = {tier: round(db_by_tier.get(tier, 0) / counts[tier]) if counts[tier] else None for tier in counts}
    return {
        "database": connection.vendor,
        "tweets": {"total": total_tweets, "by_tier": counts},
        "lifecycle_tables_bytes": lifecycle_bytes,
        "primary_db": {
            "total": db_total,
            "by_tier": db_by_tier,
            "per_tweet_by_tier": per_tweet,
            "tables": {
                name: {k: v for k, v in info.items() if k not in {"row_bytes"}} for name, info in tables.items()
            },
        },
        "redis": redis_bytes(),
        "object_store": object_store_bytes(),
        "baseline_all_hot": {
            "primary_db": baseline,
            "hot_bytes_per_tweet": round(hot_per_tweet) if hot_per_tweet is not None else None,
            "scaled_bytes_per_tweet": round(scaled_per_tweet) if scaled_per_tweet is not None else None,
            "outbox_bytes": outbox_hot,
            "fixed_bytes": fixed,
            "how": "measured bytes of the hot tweets' rows (all tables, indexes and TOAST, attributed by "
            "pg_column_size) per hot tweet, times the number of tweets; the outbox is not scaled (it holds "
            "only the retention window: the hot tweets' events, as measured) and the lifecycle's own tables count 0 "
            "(they would not exist); bytes no tier's rows account for (empty tables' pages) count on both sides "
            "as measured",
        },
        "outbox": outbox_tier_changed(tables.get(OUTBOX_TABLE)),
        "reduction": {
            "primary_db_bytes_saved": (baseline - db_total) if baseline else None,
            "primary_db_percent": round(100.0 * (1 - db_total / baseline), 1) if baseline else None,
        },
    }
