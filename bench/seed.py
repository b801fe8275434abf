"""Nexus-side helpers of the bench, run with Nexus's settings and environment:

    python bench/seed.py tweets --total N [--user-prefix bench-]  bulk tweets up to N rows
    python bench/seed.py ids --tier hot|warm|cold --limit K  ids, newest first
    python bench/seed.py tiers                              {"hot": n, ...} as JSON

Bulk seeding is one INSERT ... SELECT over generate_series per table and batch:
10^6 tweets in about a minute, where the API would take hours. Rows look like
the API's (content-addressed text, version 1, hashtags, search vector, Snowflake
ids backdated over the last days); columns this script does not know about take
the model's Python default, so a column added later does not break it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402

from analytics.models import EngagementVector  # noqa: E402
from nexus.snowflake import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS  # noqa: E402
from tweets.models import Tier, Tweet, TweetContent, TweetHashtag, TweetState, TweetVersion  # noqa: E402

BATCH = 100_000
SEED_WORKER_ID = 1023  # live processes derive theirs from the pid; seed rows are hours old anyway
# Row i: backdated 1 h + i * 0.5 s (10^6 rows span 5.8 days: all still hot),
# text with a word shared by 1 in 1000 rows and a tag shared by 1 in 100.
SERIES = """
WITH s AS (
    SELECT i,
           now() - interval '1 hour' - i * interval '500 milliseconds' AS ts,
           'bench seed ' || i || ' w' || (i %% 1000) || ' #t' || (i %% 100) AS text
    FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS i
), r AS (
    SELECT i, ts, text,
           'sha256:' || encode(sha256(convert_to(text, 'UTF8')), 'hex') AS hash,
           (((floor(extract(epoch FROM ts) * 1000)::bigint - %(epoch_ms)s) << %(shift)s)
             | (%(worker)s::bigint << %(seq_bits)s) | (i %% 4096)) AS id,
           (%(authors)s::bigint[])[1 + (i %% cardinality(%(authors)s::bigint[]))] AS author_id
    FROM s
)
"""


def _insert(model: type[models.Model], exprs: dict[str, str | None], template: models.Model, params: dict) -> None:
    """INSERT INTO <model> SELECT <exprs, or the template's value> FROM r."""
    columns, selects = [], []
    params = dict(params)
    for field in model._meta.concrete_fields:
        if field.attname in exprs and exprs[field.attname] is None:
            continue  # the column's own default (an identity/serial)
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in exprs:
            selects.append(exprs[field.attname])
        else:
            name = f"const_{field.attname}"
            params[name] = field.get_db_prep_save(getattr(template, field.attname), connection)
            selects.append(f"%({name})s")
    sql = (
        f"{SERIES} INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM r ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def seed_tweets(*, total: int, user_prefix: str) -> int:
    """Add bench rows until the tweets table holds `total` rows; returns how many were added."""
    if connection.vendor != "postgresql":
        raise SystemExit("bulk seeding needs PostgreSQL (set DATABASE_URL)")
    have = Tweet.objects.count()
    # Series indexes only grow with the table, so a later call never reuses one.
    start = have
    author_ids = list(
        get_user_model().objects.filter(username__startswith=user_prefix).order_by("id").values_list("id", flat=True)
    )
    if not author_ids:
        raise SystemExit(f"no users named {user_prefix}*: create them first")
    added = 0
    while have + added < total:
        end = start + min(BATCH, total - have - added) - 1
        params = {
            "start": start,
            "end": end,
            "epoch_ms": EPOCH_MS,
            "shift": WORKER_BITS + SEQUENCE_BITS,
            "worker": SEED_WORKER_ID,
            "seq_bits": SEQUENCE_BITS,
            "authors": author_ids,
        }
        with transaction.atomic():
            _insert(TweetContent, {"hash": "hash", "text": "text", "created_at": "ts"}, TweetContent(), params)
            _insert(
                Tweet,
                {
                    "id": "id",
                    "author_id": "author_id",
                    "content_id": "hash",
                    "created_at": "ts",
                    "published_at": "ts",
                    "search_vector": "to_tsvector('simple', text)",
                },
                Tweet(state=TweetState.PUBLISHED, version=1, published_version=1, tier=Tier.HOT),
                params,
            )
            _insert(
                TweetVersion,
                {
                    "tweet_id": "id",
                    "content_id": "hash",
                    "created_at": "ts",
                    "created_by_id": "author_id",
                    "id": None,
                },
                TweetVersion(version=1),
                params,
            )
            _insert(
                TweetHashtag,
                {"tweet_id": "id", "tag": "'t' || (i %% 100)", "created_at": "ts", "id": None},
                TweetHashtag(),
                params,
            )
            # Engagement vectors (ln(1+count)), skewed towards zero like real engagement.
            skewed = "ln(1 + floor({} * power(random(), 4)))"
            _insert(
                EngagementVector,
                {
                    "tweet_id": "id",
                    "likes": skewed.format(2000),
                    "retweets": skewed.format(300),
                    "replies": skewed.format(100),
                    "quotes": skewed.format(50),
                    "views": skewed.format(50000),
                },
                EngagementVector(),
                params,
            )
        added += end - start + 1
        start = end + 1
        print(f"seeded {have + added}/{total}", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return added


def tweet_ids(*, tier: str, limit: int) -> list[int]:
    rows = Tweet.objects.published().filter(tier=tier).order_by("-id").values_list("id", flat=True)
    return list(rows[:limit])


def tier_counts() -> dict[str, int]:
    counts = dict.fromkeys(Tier.values, 0)
    for row in Tweet.objects.values("tier").annotate(n=models.Count("id")):
        counts[row["tier"]] = row["n"]
    return counts


def settle() -> dict[str, int]:
    """Do now what the seeding left for the background: the analytics feed's
    catch-up on the seeded tweets' events, and the VACUUM ANALYZE that
    autovacuum would run after a bulk load (it is off on some servers, and
    lazy on all). Otherwise the first scenarios measured Nexus sharing the CPU
    with its own seeding's backlog."""
    from analytics.services import engagement_vectors_sync

    events = 0
    while read := engagement_vectors_sync():
        events += read
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return {"feed_events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_tweets = sub.add_parser("tweets")
    p_tweets.add_argument("--total", type=int, required=True)
    p_tweets.add_argument("--user-prefix", default="bench-", help="authors: the users named PREFIX*")
    p_ids = sub.add_parser("ids")
    p_ids.add_argument("--tier", choices=Tier.values, default=Tier.HOT)
    p_ids.add_argument("--limit", type=int, default=1000)
    sub.add_parser("tiers")
    sub.add_parser("settle")
    args = parser.parse_args()
    if args.command == "tweets":
        print(seed_tweets(total=args.total, user_prefix=args.user_prefix))
    elif args.command == "ids":
        print("\n".join(str(i) for i in tweet_ids(tier=args.tier, limit=args.limit)))
    elif args.command == "settle":
        print(json.dumps(settle()))
    else:
        print(json.dumps(tier_counts()))


if __name__ == "__main__":
    main()
