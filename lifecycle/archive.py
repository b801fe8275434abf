"""The archive object of a warm or cold tweet: its full record, its whole
version history and (once cold) its final counts, as one zstd-compressed JSON
document in the default storage (local files under var/, or S3), keyed by
tweet id. Versions of one tweet share most of their text, so compressing them
together is where the bytes go away."""

from __future__ import annotations

import json
from datetime import datetime

import zstandard
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.utils.dateparse import parse_datetime

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
    key gave. Rows archived before the key was derived keep their stored one."""
    if tweet.archive_key:
        return tweet.archive_key
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
    """Write (or rewrite) the object; returns the key it was stored under.

    A re-run after a crash finds the object of the earlier attempt: nothing
    points at it yet, so it is replaced (local storage would otherwise pick a
    new name instead of overwriting)."""
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
    known = {f.attname for f in model._meta.concrete_fields}
    return [
        model(
            **{
                k: (parse_datetime(v) if k in datetime_fields and isinstance(v, str) else v)
                for k, v in item.items()
                if k in known
            }
        )
        for item in items
    ]
