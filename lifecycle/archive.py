"""The LEGACY archive format (format 1), read until `archive_upgrade` has run:
one zstd-compressed JSON document per warm or cold tweet in the default
storage, keyed by tweet id (archive/<id % 1000>/<id>.<tier>.json.zst). New
moves write segments (lifecycle.segments); this module only reads the old
objects, turns them into segment rows (`legacy_row`) for the upgrade command
and for reads of tweets not yet repacked, and writes them for the upgrade's
tests."""

from __future__ import annotations

import json
from datetime import datetime

import zstandard
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.utils.dateparse import parse_datetime

from lifecycle.segments import history_encode
from nexus.errors import ServiceUnavailable

FORMAT = 1
ZSTD_LEVEL = 9


class ArchiveUnavailable(ServiceUnavailable):
    default_detail = "The archive of this tweet cannot be read right now; retry shortly."
    code = "archive_unavailable"


def archive_key(tweet_id: int, tier: str) -> str:
    # One object per (tweet, tier): the cold object is written beside the warm
    # one and only then does the row point at it, so a crash mid-way never
    # leaves the row pointing at a half-written or missing object.
    return f"{settings.NEXUS_ARCHIVE_PREFIX}/{tweet_id % 1000:03d}/{tweet_id}.{tier}.json.zst"


def tweet_archive_key(tweet) -> str:
    """Where a warm or cold tweet's archive object is ("" for a hot tweet).

    Derived from the id and the tier, so the row stores no key: the tier and
    the key change in the same UPDATE, which is the same guarantee a stored
    key gave."""
    return "" if tweet.tier == "hot" else archive_key(tweet.id, tweet.tier)


def archive_encode(document: dict) -> bytes:
    raw = json.dumps({"format": FORMAT, **document}, separators=(",", ":"), sort_keys=True).encode()
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)


def archive_decode(blob: bytes) -> dict:
    document = json.loads(zstandard.ZstdDecompressor().decompress(blob))
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown archive format {document.get('format')!r}")
    return document


def archive_write(*, key: str, document: dict) -> str:
    """Write a legacy object (the upgrade command's tests make them)."""
    blob = archive_encode(document)
    if default_storage.exists(key):
        default_storage.delete(key)
    stored = default_storage.save(key, ContentFile(blob))
    # Read back what was stored: the row must never point at an unreadable object.
    if archive_read(stored)["tweet_id"] != document["tweet_id"]:
        raise RuntimeError(f"archive object {stored} does not hold tweet {document['tweet_id']}")
    return stored


def archive_read(key: str) -> dict:
    try:
        with default_storage.open(key, "rb") as handle:
            return archive_decode(handle.read())
    except (OSError, ValueError) as exc:
        raise ArchiveUnavailable() from exc
    except Exception as exc:  # S3 client errors are not OSError
        if exc.__class__.__module__.startswith(("botocore", "boto3")):
            raise ArchiveUnavailable() from exc
        raise


def archive_delete(key: str) -> None:
    try:
        default_storage.delete(key)
    except Exception:  # an orphaned object costs bytes, never correctness
        return


# --- simple-history rows in the archive -----------------------------------------------------
def history_rows_encode(rows: list[models.Model]) -> list[dict]:
    """Historical rows as archive JSON: every concrete column by attname
    (history_id, history_user_id, history_date, history_change_reason,
    history_type and the tweet's own columns), datetimes as ISO 8601."""
    encoded = []
    for row in rows:
        item = {}
        for field in row._meta.concrete_fields:
            value = getattr(row, field.attname)
            item[field.attname] = value.isoformat() if isinstance(value, datetime) else value
        encoded.append(item)
    return encoded


def history_rows_decode(model: type[models.Model], items: list[dict]) -> list[models.Model]:
    """Unsaved historical-model instances from archive JSON (for display only)."""
    datetime_fields = {f.attname for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)}
    # Segments name columns (content_hash), legacy documents attributes (content_id).
    attname = {f.column: f.attname for f in model._meta.concrete_fields}
    attname.update({f.attname: f.attname for f in model._meta.concrete_fields})
    return [
        model(
            **{
                attname[k]: (parse_datetime(v) if attname[k] in datetime_fields and isinstance(v, str) else v)
                for k, v in item.items()
                if k in attname
            }
        )
        for item in items
    ]


def _when(value):
    return parse_datetime(value) if isinstance(value, str) else value


def legacy_row(document: dict) -> dict:
    """A legacy document as a segment row (lifecycle.segments.SCHEMA)."""
    record = document["record"]
    authors = document.get("version_authors", {})
    metrics = document.get("final_metrics") or {}
    return {
        "id": int(document["tweet_id"]),
        "author_id": record["author_id"],
        "username": record.get("username"),
        "state": record["state"],
        "version": record["version"],
        "published_version": None,
        "created_at": _when(record["created_at"]),
        "published_at": _when(record["published_at"]),
        "edited_at": _when(record["edited_at"]),
        "in_reply_to_id": record["in_reply_to_id"],
        "quote_of_id": record["quote_of_id"],
        "content_hash": record["content_hash"],
        "text": record["text"],
        "media_ids": [int(m) for m in record["media_ids"]],
        "hashtags": list(document.get("hashtags", [])),
        "versions": [
            {
                "version": v["version"],
                "text": v["text"],
                "content_hash": v["content_hash"],
                "media_ids": [int(m) for m in v["media_ids"]],
                "created_at": _when(v["created_at"]),
                "created_by_id": authors.get(str(v["version"])),
            }
            for v in document.get("versions", [])
        ],
        "history": history_encode(document.get("history", [])),
        **{name: metrics.get(name) for name in ("likes", "retweets", "replies", "quotes", "views")},
        "archived_at": _when(document.get("cold_at") or document.get("archived_at")),
    }
