"""Archive segments: the Parquet objects that hold warm and cold tweets.

One segment is one immutable Apache Parquet file in the archive storage
(`STORAGES["archive"]`: local files under var/archive, or the bucket's private
`archive/` prefix on S3) holding one batch of tweets, sorted by id, zstd,
in row groups of `NEXUS_SEGMENT_ROW_GROUP_ROWS` rows. The schema is documented
in docs/archive-format.md; pyarrow or DuckDB read a bucket of them as one dataset.

Reads never fetch a whole object: the footer of each segment is read once
per process (one ranged GET of the object's tail) and cached — the object is
immutable, so the cache never goes stale — and a point read fetches the one
row group holding the id, as one ranged GET spanning the column chunks
asked for (the record's columns all sit before `history` and the final
counts in SCHEMA, so a record's read leaves those out)."""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

FORMAT = "nexus-segment/1"
PREFIX = "segments"
TAIL_BYTES = 64 * 1024  # one GET fetches the footer of any segment we write

_TS = pa.timestamp("us", tz="UTC")
VERSION_TYPE = pa.struct(
    [
        ("version", pa.int32()),
        ("text", pa.string()),
        ("content_hash", pa.string()),
        ("media_ids", pa.list_(pa.int64())),
        ("created_at", _TS),
        ("created_by_id", pa.int64()),
    ]
)
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("author_id", pa.int64()),
        ("username", pa.string()),
        ("state", pa.string()),
        ("version", pa.int32()),
        ("published_version", pa.int32()),
        ("created_at", _TS),
        ("published_at", _TS),
        ("edited_at", _TS),
        ("in_reply_to_id", pa.int64()),
        ("quote_of_id", pa.int64()),
        ("content_hash", pa.string()),
        ("text", pa.string()),
        ("media_ids", pa.list_(pa.int64())),
        ("hashtags", pa.list_(pa.string())),
        ("versions", pa.list_(VERSION_TYPE)),
        ("history", pa.string()),  # JSON array of the tweet's simple-history rows
        ("likes", pa.int64()),  # final counts: set in cold segments, null in warm ones
        ("retweets", pa.int64()),
        ("replies", pa.int64()),
        ("quotes", pa.int64()),
        ("views", pa.int64()),
        ("archived_at", _TS),
    ]
)
COLUMNS = SCHEMA.names
METRICS = ("likes", "retweets", "replies", "quotes", "views")
# What a tweet's API record needs (lifecycle.selectors.archived_records_get_many):
# the history rows, hashtags and counts stay unread.
RECORD_COLUMNS = [
    "id",
    "version",
    "created_at",
    "published_at",
    "edited_at",
    "in_reply_to_id",
    "quote_of_id",
    "content_hash",
    "text",
    "media_ids",
    "versions",
]


class SegmentMissing(Exception):
    """The object of a catalog entry is gone (compaction replaced it since the lookup)."""


def archive_storage():
    return storages["archive"]


def segment_key(*, tier: str, min_id: int, max_id: int, now: datetime | None = None) -> str:
    # A fresh suffix per write: a retried batch never overwrites the object of
    # an earlier attempt that may still be committed (or swept) on its own.
    now = now or datetime.now(UTC)
    return f"{PREFIX}/{tier}/{now:%Y/%m/%d}/{min_id}-{max_id}-{uuid.uuid4().hex[:12]}.parquet"


# --- encoding --------------------------------------------------------------------------------
def history_encode(items: list[dict]) -> str:
    return json.dumps(items, separators=(",", ":"), sort_keys=True, default=str)


def segment_encode(rows: list[dict], *, tier: str) -> bytes:
    """Rows (dicts with the SCHEMA's columns) as one Parquet file, sorted by id."""
    ordered = sorted(rows, key=lambda row: row["id"])
    table = pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS} for row in ordered], schema=SCHEMA)
    table = table.replace_schema_metadata({"nexus.format": FORMAT, "nexus.tier": tier})
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=6,
        row_group_size=settings.NEXUS_SEGMENT_ROW_GROUP_ROWS,
        write_statistics=["id"],  # row-group id ranges: what a point read looks up
        use_dictionary=["state", "username"],
        write_page_index=False,
    )
    return sink.getvalue()


def segment_decode_table(table: pa.Table) -> list[dict]:
    return table.to_pylist()


# --- the store -------------------------------------------------------------------------------
def segment_put(*, key: str, blob: bytes) -> None:
    storage = archive_storage()
    stored = storage.save(key, ContentFile(blob))
    if stored != key:  # never expected: keys are unique; a renamed object would be an orphan
        storage.delete(stored)
        raise RuntimeError(f"archive storage stored {key} as {stored}")


def segment_delete(key: str) -> None:
    archive_storage().delete(key)


def _s3(storage):
    bucket = getattr(storage, "bucket", None)
    if bucket is None:
        return None
    return bucket.meta.client, bucket.name, (storage.location or "").strip("/")


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of an S3 object made of ranged GETs: spans
    fetched up front (the tail, a row group) are served from memory."""

    def __init__(self, client, bucket: str, key: str, size: int):
        self.client, self.bucket, self.key, self.size = client, bucket, key, size
        self.pos = 0
        self.spans: list[tuple[int, bytes]] = []

    def fetch(self, start: int, end: int) -> None:
        start, end = max(0, start), min(self.size, end)
        if start >= end:
            return
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end - 1}")
        except Exception as exc:
            if "NoSuchKey" in type(exc).__name__ or "NoSuchKey" in str(exc):
                raise SegmentMissing(self.key) from exc
            raise
        self.spans.append((start, response["Body"].read()))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        for start, data in self.spans:
            if start <= self.pos and end <= start + len(data):
                chunk = data[self.pos - start : end - start]
                self.pos = end
                return chunk
        self.fetch(self.pos, end)
        return self.read(n)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Footer:
    __slots__ = ("leaves", "metadata", "ranges", "size")

    def __init__(self, metadata: pq.FileMetaData, size: int):
        self.metadata, self.size = metadata, size
        id_column = metadata.schema.names.index("id")
        self.ranges = []
        for i in range(metadata.num_row_groups):
            stats = metadata.row_group(i).column(id_column).statistics
            self.ranges.append((stats.min, stats.max))
        # Top-level column -> its leaf column chunks (a list or struct column has several).
        self.leaves: dict[str, list[int]] = {}
        for j in range(metadata.num_columns):
            self.leaves.setdefault(metadata.schema.column(j).path.split(".")[0], []).append(j)

    def groups_for(self, ids: Iterable[int]) -> dict[int, set[int]]:
        wanted: dict[int, set[int]] = {}
        for tweet_id in ids:
            for i, (low, high) in enumerate(self.ranges):
                if low <= tweet_id <= high:
                    wanted.setdefault(i, set()).add(tweet_id)
                    break
        return wanted

    def group_span(self, i: int, columns: list[str] | None = None) -> tuple[int, int]:
        """The byte range of row group `i`'s column chunks of `columns` (all
        when None): one ranged GET. Chunks are laid out in schema order, so
        the record's columns span less than the group (the history and the
        final counts, written after them, stay unread)."""
        group = self.metadata.row_group(i)
        chunks = range(group.num_columns) if columns is None else [j for c in columns for j in self.leaves[c]]
        start, end = None, 0
        for j in chunks:
            column = group.column(j)
            first = column.data_page_offset
            if column.has_dictionary_page and column.dictionary_page_offset:
                first = min(first, column.dictionary_page_offset)
            start = first if start is None else min(start, first)
            end = max(end, first + column.total_compressed_size)
        return start or 0, end


_footers: OrderedDict[str, _Footer] = OrderedDict()
_footers_lock = threading.Lock()


def _footer_cached(key: str) -> _Footer | None:
    with _footers_lock:
        footer = _footers.get(key)
        if footer is not None:
            _footers.move_to_end(key)
        return footer


def _footer_remember(key: str, footer: _Footer) -> None:
    with _footers_lock:
        _footers[key] = footer
        while len(_footers) > settings.NEXUS_SEGMENT_FOOTER_CACHE:
            _footers.popitem(last=False)


def footer_cache_clear() -> None:
    with _footers_lock:
        _footers.clear()


def _open(key: str, size: int | None):
    """(file for pyarrow, S3 range file or None)."""
    storage = archive_storage()
    s3 = _s3(storage)
    if s3 is None:
        try:
            return open(storage.path(key), "rb"), None  # noqa: SIM115 (closed by the caller)
        except FileNotFoundError as exc:
            raise SegmentMissing(key) from exc
    client, bucket, prefix = s3
    full_key = f"{prefix.rstrip('/')}/{key}" if prefix else key
    if size is None:
        try:
            size = client.head_object(Bucket=bucket, Key=full_key)["ContentLength"]
        except Exception as exc:
            raise SegmentMissing(key) from exc
    return (handle := _RangeFile(client, bucket, full_key, size)), handle


def _footer(key: str, size: int | None) -> _Footer:
    footer = _footer_cached(key)
    if footer is not None:
        return footer
    handle, ranged = _open(key, size)
    with handle:
        if ranged is not None:
            ranged.fetch(ranged.size - TAIL_BYTES, ranged.size)  # footer in one GET (usually)
            total = ranged.size
        else:
            total = handle.seek(0, 2)
        footer = _Footer(pq.ParquetFile(handle).metadata, total)
    _footer_remember(key, footer)
    return footer


def segment_read(
    key: str, ids: Iterable[int], *, size: int | None = None, columns: list[str] | None = None
) -> dict[int, dict]:
    """The rows of `ids` found in segment `key` (only `columns`, `id` always
    included, when given): one row group read per group holding any of them
    (one ranged GET each on S3), the footer from cache."""
    ids = set(ids)
    footer = _footer(key, size)
    wanted = footer.groups_for(ids)
    if not wanted:
        return {}
    if columns is not None and "id" not in columns:
        columns = ["id", *columns]
    handle, ranged = _open(key, footer.size)
    found: dict[int, dict] = {}
    with handle:
        if ranged is not None:
            for i in wanted:
                ranged.fetch(*footer.group_span(i, columns))
        parquet = pq.ParquetFile(handle, metadata=footer.metadata)
        for i, group_ids in wanted.items():
            group = parquet.read_row_group(i, columns=columns)
            # Only the wanted rows become Python objects (a group holds NEXUS_SEGMENT_ROW_GROUP_ROWS).
            group = group.filter(pc.is_in(group.column("id"), pa.array(sorted(group_ids), pa.int64())))
            for row in group.to_pylist():
                found[row["id"]] = row
    return found


def segment_read_all(key: str) -> list[dict]:
    """Every row of a segment (compaction, the warm → cold move, verification)."""
    handle, ranged = _open(key, None)
    with handle:
        if ranged is not None:
            ranged.fetch(0, ranged.size)
        return pq.ParquetFile(handle).read().to_pylist()


def segment_verify(key: str, *, ids: list[int]) -> int:
    """Read the stored object's footer and id column back: it must hold exactly
    `ids`, sorted. Returns its size in bytes."""
    handle, ranged = _open(key, None)
    with handle:
        if ranged is not None:
            ranged.fetch(0, ranged.size)
            size = ranged.size
        else:
            size = handle.seek(0, 2)
            handle.seek(0)
        parquet = pq.ParquetFile(handle)
        if parquet.schema_arrow.metadata.get(b"nexus.format") != FORMAT.encode():
            raise RuntimeError(f"segment {key}: not a {FORMAT} file")
        stored = parquet.read(columns=["id"]).column("id").to_pylist()
    if stored != sorted(ids):
        raise RuntimeError(f"segment {key}: holds {len(stored)} ids, expected {len(ids)}")
    return size


def segment_objects() -> Iterable[tuple[str, int, datetime]]:
    """(key, bytes, last modified) of every segment object, listed from the store itself."""
    storage = archive_storage()
    s3 = _s3(storage)
    if s3 is not None:
        client, bucket, prefix = s3
        root = f"{prefix.rstrip('/')}/" if prefix else ""
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{root}{PREFIX}/"):
            for item in page.get("Contents", []):
                yield item["Key"][len(root) :], item["Size"], item["LastModified"]
        return
    root = Path(storage.location)
    for folder, _, names in os.walk(root / PREFIX):
        for name in names:
            path = Path(folder) / name
            stat = path.stat()
            yield str(path.relative_to(root)), stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC)
