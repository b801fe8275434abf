"""Transactional outbox and the gap-free event feed (SPEC section 6).

Why not `id > cursor`: ids come from a sequence when the INSERT runs, but
transactions commit in any order. While a transaction holding id 10 is still
open, a reader can already see id 11; advancing its cursor to 11 would skip
10 forever. So each event records its transaction id (xid8) and the feed
returns, in (txid, id) order, only events of transactions older than the
oldest one still running (the snapshot's xmin): everything below xmin has
finished, so no event can later appear behind a cursor already handed out.
On SQLite writers are serialised by the database lock, so ids are already in
commit order and txid is 0.

Batch rows: a lifecycle move changes thousands of tweets in one transaction,
and writes its tweet.tier_changed events as one row (`event_batch_record`):
`events` = how many tweets, `data` = their (tweet_id, author_id, version) as
three parallel arrays, which TOAST compresses (about 13 bytes a tweet instead
of a 175-byte row with three index entries). The feed expands it here and
nowhere else (`row_events`): one event per tweet, in the row's order, each
with its own cursor `txid.id.k` (the k-th tweet of row id, from 1); an
ordinary row's cursor stays `txid.id`, which also means "after the whole
row", so every cursor handed out before batch rows existed stays valid. A
page may end inside a batch row; the next page starts at its (k+1)-th tweet.

Retention: events older than NEXUS_OUTBOX_RETENTION_HOURS (default 168, one
week) are deleted by the `tweets.tasks.purge_outbox_events` beat job, oldest
first, in bounded batches through the `outbox_at` index. A consumer that
keeps up is unaffected: what goes is behind its cursor, and a cursor is a
position in (txid, id) order, not a row that must still exist. A consumer that
lags by more than the retention has lost events and must resync from the
source of truth (the tweets themselves, e.g. the analytics_backfill command)
and then continue from a fresh cursor. The analytics app's FeedCursor consumer
reads the feed every 30 seconds, far inside the week."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from nexus.errors import ValidationFailed
from nexus.timefmt import format_timestamp
from tweets.models import EventType, OutboxEvent, Tweet

PG_CURRENT_TXID = "pg_current_xact_id()::text::bigint"
PG_SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _current_txid() -> RawSQL | int:
    """The writing transaction's id, as the row's `txid` (0 on SQLite)."""
    return RawSQL(PG_CURRENT_TXID, []) if connection.vendor == "postgresql" else 0


def event_record(*, type: EventType | str, tweet: Tweet, data: dict | None = None) -> OutboxEvent:
    """Write one event; call inside the transaction that makes the change."""
    return OutboxEvent.objects.create(
        txid=_current_txid(),
        type=type,
        tweet_id=tweet.id,
        author_id=tweet.author_id,
        version=tweet.version,
        data=data or {},
    )


# A batch row's `data`: its tweets' (tweet_id, author_id, version) as three
# parallel arrays, in feed order. `events` is a smallint: longer batches take
# more rows.
BATCH_KEYS = ("tweet_ids", "author_ids", "versions")
BATCH_MAX = 32767


def event_batch_record(
    *, type: EventType | str, events: Sequence[tuple[int, int, int]], at: datetime | None = None
) -> int:
    """Write one change to many tweets (a lifecycle move) as one batch row: the
    first tweet in the columns, every tweet's (tweet_id, author_id, version),
    in the order given, in `data`; the feed shows one event per tweet. Call
    inside the transaction that makes the change. Returns the rows written."""
    txid = _current_txid()
    at = at or timezone.now()
    written = 0
    for start in range(0, len(events), BATCH_MAX):
        chunk = events[start : start + BATCH_MAX]
        tweet_id, author_id, version = chunk[0]
        data = dict(zip(BATCH_KEYS, (list(column) for column in zip(*chunk, strict=True)), strict=True))
        OutboxEvent.objects.create(
            txid=txid,
            type=type,
            tweet_id=tweet_id,
            author_id=author_id,
            version=version,
            at=at,
            events=len(chunk),
            data=data if len(chunk) > 1 else {},
        )
        written += 1
    return written


def row_events(row: OutboxEvent) -> list[tuple[int, int, int]]:
    """The (tweet_id, author_id, version) of each event a row holds, in feed order."""
    if row.events > 1:
        return list(zip(*(row.data[key] for key in BATCH_KEYS), strict=True))
    return [(row.tweet_id, row.author_id, row.version)]


@dataclass(frozen=True)
class Cursor:
    """A position in the feed: after row (txid, id), or, inside a batch row,
    after its first `seen` events. Encoded `txid.id` or `txid.id.seen`."""

    txid: int
    id: int
    seen: int | None = None

    def encode(self) -> str:
        return f"{self.txid}.{self.id}" if self.seen is None else f"{self.txid}.{self.id}.{self.seen}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls(-1, 0)
        try:
            parts = [int(part) for part in raw.split(".")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] < 1):
                raise ValueError(raw)
            return cls(*parts)
        except ValueError:
            raise ValidationFailed({"after": ["Invalid cursor: pass a next_cursor or an event's cursor."]}) from None


# The rows of the next page, in (txid, id) order: at most `limit` of them
# (each holds at least one event), cut where the events before a row already
# fill the page, so a run of batch rows is not all fetched for one page.
FEED_SQL = """
SELECT * FROM (
    SELECT e.*, sum(e.events) OVER (ORDER BY e.txid, e.id ROWS UNBOUNDED PRECEDING) - e.events AS events_before
    FROM {table} e WHERE (e.txid, e.id) {op} (%s, %s){visible}
    ORDER BY e.txid, e.id LIMIT %s
) page WHERE page.events_before < %s ORDER BY page.txid, page.id
"""


def events_after(*, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Committed events after the cursor, oldest first, and the cursor to continue from."""
    cursor = Cursor.decode(after)
    seen = cursor.seen or 0
    sql = FEED_SQL.format(
        table=connection.ops.quote_name(OutboxEvent._meta.db_table),
        # Inside a batch row: the row again, its first `seen` events skipped below.
        op=">" if cursor.seen is None else ">=",
        # Same statement, same snapshot: only transactions that have finished.
        visible=f" AND e.txid < ({PG_SNAPSHOT_XMIN})" if connection.vendor == "postgresql" else "",
    )
    rows = OutboxEvent.objects.raw(sql, [cursor.txid, cursor.id, limit + (1 if seen else 0), limit + seen])
    results: list[dict] = []
    for row in rows:
        batch = row.events > 1
        skip = seen if (row.txid, row.id) == (cursor.txid, cursor.id) else 0
        for k, (tweet_id, author_id, version) in enumerate(row_events(row)[skip:], start=skip + 1):
            if len(results) == limit:
                break
            results.append(
                {
                    "cursor": Cursor(row.txid, row.id, k if batch else None).encode(),
                    "type": row.type,
                    "tweet_id": str(tweet_id),
                    "author_id": str(author_id),
                    "version": version,
                    "at": format_timestamp(row.at),
                }
            )
    next_cursor = results[-1]["cursor"] if results else (after or None)
    return results, next_cursor


def outbox_purge_queryset(*, cutoff: datetime):
    """Ids of the events older than `cutoff`, oldest first: a range scan of
    `outbox_at` that stops at the batch limit (tests EXPLAIN exactly this)."""
    return OutboxEvent.objects.filter(at__lt=cutoff).order_by("at").values_list("id", flat=True)


def outbox_purge(*, now: datetime | None = None, batch_size: int = 5000, max_batches: int = 100) -> int:
    """Delete events older than the retention, oldest first, `batch_size` rows
    per transaction (short locks, bounded WAL), at most `max_batches` per call
    (the next beat run continues). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.NEXUS_OUTBOX_RETENTION_HOURS)
    deleted = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(outbox_purge_queryset(cutoff=cutoff)[:batch_size])
            if ids:
                OutboxEvent.objects.filter(id__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            break
    return deleted
