"""Content-addressed keys and the few object-store calls media needs, all
through django-storages' default_storage (local files or S3)."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

KEY_ROOT = "media"


class StoreError(Exception):
    """The object store failed or is unreachable; worth retrying."""


def blob_prefix(sha256: str) -> str:
    # Two levels of fan-out keep local directories small; S3 does not care.
    return f"{KEY_ROOT}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def original_key(sha256: str, extension: str) -> str:
    return f"{blob_prefix(sha256)}/original.{extension}"


def variant_key(sha256: str, name: str, extension: str) -> str:
    return f"{blob_prefix(sha256)}/{name}.{extension}"


def object_put(key: str, data: bytes) -> None:
    """Write one object under exactly `key` (the same key always holds the same
    bytes, so overwriting is safe and makes a retry after a crash repair a
    partial write)."""
    try:
        name = default_storage.save(key, ContentFile(data))
    except Exception as exc:  # botocore, socket and OS errors alike
        raise StoreError(f"Could not write {key}: {exc}") from exc
    if name != key:
        # A storage that renames on collision would break content addressing.
        raise RuntimeError(f"Storage saved {key!r} as {name!r}: enable overwriting (allow_overwrite/file_overwrite).")


def object_get(key: str) -> bytes:
    try:
        with default_storage.open(key, "rb") as fh:
            return fh.read()
    except Exception as exc:
        raise StoreError(f"Could not read {key}: {exc}") from exc


def object_url(key: str) -> str:
    return default_storage.url(key)
