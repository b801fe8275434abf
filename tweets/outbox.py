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

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from nexus.errors import ValidationFailed
from nexus.timefmt import format_timestamp
from tweets.models import EventType, OutboxEvent, Tweet

PG_CURRENT_TXID = "pg_current_xact_id()::text::bigint"
PG_SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def event_record(*, type: EventType | str, tweet: Tweet, data: dict | None = None) -> OutboxEvent:
    """Write one event; call inside the transaction that makes the change."""
    txid = RawSQL(PG_CURRENT_TXID, []) if connection.vendor == "postgresql" else 0
    return OutboxEvent.objects.create(
        txid=txid,
        type=type,
        tweet_id=tweet.id,
        author_id=tweet.author_id,
        version=tweet.version,
        data=data or {},
    )


@dataclass(frozen=True)
class Cursor:
    txid: int
    id: int

    def encode(self) -> str:
        return f"{self.txid}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls(-1, 0)
        try:
            txid, event_id = raw.split(".")
            return cls(int(txid), int(event_id))
        except ValueError:
            raise ValidationFailed({"after": ["Invalid cursor: pass a next_cursor or an event's cursor."]}) from None


def events_after(*, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Committed events after the cursor, oldest first, and the cursor to continue from."""
    cursor = Cursor.decode(after)
    queryset = OutboxEvent.objects.filter(Q(txid__gt=cursor.txid) | Q(txid=cursor.txid, id__gt=cursor.id)).order_by(
        "txid", "id"
    )
    if connection.vendor == "postgresql":
        # Same statement, same snapshot: only transactions that have finished.
        queryset = queryset.filter(txid__lt=RawSQL(PG_SNAPSHOT_XMIN, []))
    events = list(queryset[:limit])
    results = [
        {
            "cursor": Cursor(e.txid, e.id).encode(),
            "type": e.type,
            "tweet_id": str(e.tweet_id),
            "author_id": str(e.author_id),
            "version": e.version,
            "at": format_timestamp(e.at),
        }
        for e in events
    ]
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
