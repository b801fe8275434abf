from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import connection
from tqdm import tqdm

from lifecycle import storage
from lifecycle.selectors import storage_summary


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1048576:10.2f} MiB"


class Command(BaseCommand):
    help = (
        "Measure the bytes each tier really occupies and compare with an all-hot baseline. "
        "PostgreSQL: pg_total_relation_size of every table that grows per tweet (the tweets, their history, "
        "versions, hashtags, contents, outbox events and any table with a tweet_id column; plus the "
        "lifecycle's segment catalog), "
        "indexes and TOAST included, split between tiers by the measured pg_column_size of each table's rows "
        "(sampled with TABLESAMPLE above 200k rows). Redis: MEMORY USAGE of the cached tweet records (when "
        "REDIS_URL is set). Object store: the archive segments (and any legacy "
        "per-tweet objects), listed from the store, beside the catalog. "
        "Baseline: the measured primary-database bytes of the hot tweets divided by their number (bytes per "
        "never-slimmed tweet, indexes and TOAST included) times the number of all tweets: what the data set "
        "would occupy if every tweet were still hot; the outbox is not scaled (it holds only its retention "
        "window, the hot tweets' events) and the lifecycle's own tables count 0 (without a lifecycle they would "
        "not exist). Run with --vacuum to VACUUM FULL the measured tables "
        "first, so dead row versions left by the migrations are not counted (autovacuum makes that space "
        "reusable in production). On SQLite, table bytes come from dbstat (or the file size) and tiers are "
        "split by row count, because SQLite cannot measure a row's size."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the measurements as JSON.")
        parser.add_argument("--vacuum", action="store_true", help="VACUUM FULL ANALYZE the tables first.")

    def handle(self, *args, as_json: bool = False, vacuum: bool = False, **options):
        if vacuum:
            self._vacuum()
        summary = storage_summary()
        if as_json:
            self.stdout.write(_dumps(summary))
            return
        self._print(summary)

    def _vacuum(self) -> None:
        tables = [t for t, _ in storage.tweet_tables()] + ["tweets_tweetcontent", *storage.LIFECYCLE_TABLES]
        with connection.cursor() as cursor:
            for table in tqdm(tables, desc="vacuum", unit="table"):
                if connection.vendor == "postgresql":
                    cursor.execute(f"VACUUM FULL ANALYZE {connection.ops.quote_name(table)}")
            if connection.vendor != "postgresql":
                cursor.execute("VACUUM")

    def _print(self, s: dict) -> None:
        out = self.stdout.write
        out(f"database: {s['database']}   tweets: {s['tweets']['total']}   by tier: {s['tweets']['by_tier']}")
        out("\nprimary database, per table (total incl. indexes and TOAST):")
        for name, info in sorted(s["primary_db"]["tables"].items(), key=lambda kv: -kv[1]["total"]):
            tiers = "  ".join(f"{t}={v / 1024:.0f}K" for t, v in sorted(info["by_tier"].items()))
            out(f"  {name:34} {_mib(info['total'])}   {tiers}")
        db = s["primary_db"]
        out(f"\nprimary database total: {_mib(db['total'])}")
        for tier, size in sorted(db["by_tier"].items()):
            out(f"  {tier:6} {_mib(size)}   per tweet: {db['per_tweet_by_tier'].get(tier)} B")
        if s["redis"] is not None:
            out(f"redis (cached records, MEMORY USAGE): {_mib(s['redis']['total'])}  {s['redis']['by_tier']}")
        store = s["object_store"]
        out(
            f"object store ({store['segments']} segments, {store['legacy']['objects']} legacy objects): "
            f"{_mib(store['total'])}  {store['by_tier']}"
        )
        out(f"segment catalog: {store['catalog']}   lifecycle tables: {_mib(s['lifecycle_tables_bytes'])}")
        base = s["baseline_all_hot"]
        out(
            f"\nall-hot baseline (primary database): {_mib(base['primary_db'])}"
            f"  ({base['scaled_bytes_per_tweet']} B/tweet scaled, outbox {_mib(base['outbox_bytes']).strip()}, "
            f"fixed {_mib(base['fixed_bytes']).strip()})"
        )
        out(f"  how: {base['how']}")
        outbox = s.get("outbox")
        if outbox:
            out(
                f"outbox: {_mib(outbox['total'])}, of which {outbox['tier_changed_events']} tweet.tier_changed "
                f"events {_mib(outbox['tier_changed_bytes'])} (purged after {outbox['retention_hours']} h)"
            )
        red = s["reduction"]
        out(
            f"reduction of primary-database bytes: {red['primary_db_percent']}%"
            f"  ({_mib(red['primary_db_bytes_saved'])})"
        )


def _dumps(value) -> str:
    return json.dumps(value, indent=2, default=str)
